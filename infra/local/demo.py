"""`make demo`: start the stack, seed, issue vysedeck's September 2025 invoice over HTTP, save files.

Stops what it started (a stack that was already up is left running).
"""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import stack

OUT = stack.ROOT / "out"


def call(method: str, url: str, key: str) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, method=method, headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def received() -> dict[str, bytes]:
    """Every email the stack's SMTP sink has kept (Maildir key -> raw message)."""
    if not stack.MAIL_DIR.is_dir():
        return {}
    box = mailbox.Maildir(stack.MAIL_DIR, create=False)
    return {key: box.get_bytes(key) for key in box.keys()}


def main() -> int:
    was_up = stack.status() == 0
    stack.up()
    env = {**os.environ, **stack.stack_env()}
    try:
        bin_dir = Path(sys.executable).parent
        print("\n== seeding demo data (billing seed-demo)")
        subprocess.run([str(bin_dir / "billing"), "seed-demo"], env=env, check=True)

        key = env["BILLING_API_KEYS"].split(",")[0]
        admin_key = env["BILLING_ADMIN_KEYS"].split(",")[0]  # sending is an admin action
        base = f"http://127.0.0.1:{stack.PORTS['http']}"
        url = f"{base}/billing/generate/vysedeck?month=9&year=2025"
        print(f"\n== POST {url}")
        status, body, _ = call("POST", url, key)
        if status != 200:
            print(f"generate failed: HTTP {status}: {body.decode(errors='replace')}")
            return 1
        invoice = json.loads(body)
        print(json.dumps(invoice, indent=2, ensure_ascii=False))

        OUT.mkdir(exist_ok=True)
        for kind in ("pdf", "csv"):
            status, data, headers = call("GET", invoice["downloadLinks"][kind], key)
            if status != 200:
                print(f"download of the {kind} failed: HTTP {status}")
                return 1
            path = OUT / f"vysedeck_2025-09_{'invoice.pdf' if kind == 'pdf' else 'calls.csv'}"
            path.write_bytes(data)
            print(f"saved {path.relative_to(stack.ROOT)} ({len(data)} bytes, {headers.get('Content-Type')})")
        print("\n== POST /billing/invoices/vysedeck/2025-09/send (email to the stack's SMTP sink on "
              f"127.0.0.1:{stack.PORTS['smtp']})")
        before = received()
        status, body, _ = call("POST", f"{base}/billing/invoices/vysedeck/2025-09/send", admin_key)
        print(f"HTTP {status}: {body.decode(errors='replace')}")
        new = [raw for key, raw in received().items() if key not in before]
        if new:
            from email import message_from_bytes
            from email.policy import default

            msg = message_from_bytes(new[-1], policy=default)
            eml = OUT / "vysedeck_2025-09_email.eml"
            eml.write_bytes(new[-1])
            print(f"received: To {msg['To']} | Subject {msg['Subject']} | attachments "
                  f"{[p.get_filename() for p in msg.iter_attachments()]} -> saved {eml.relative_to(stack.ROOT)}")
        print(
            f"\ninvoice {invoice['invoiceNumber']}: subtotal {invoice['subtotal']}, "
            f"gstAmount {invoice['gstAmount']}, totalAmount {invoice['totalAmount']}"
        )
        return 0
    finally:
        if not was_up:
            print("\n== stopping the stack")
            stack.down()


if __name__ == "__main__":
    sys.exit(main())
