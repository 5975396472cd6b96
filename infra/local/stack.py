"""The local stack: `up` starts the emulators + HTTP function on the firebase.json ports, `down` stops them.

    python infra/local/stack.py up      # idempotent: a running stack is left alone
    python infra/local/stack.py down    # stops exactly what `up` recorded, also after a crash
    python infra/local/stack.py status
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import emulators as emu

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".stack"
STATE = STATE_DIR / "processes.json"
FIREBASE = json.loads((ROOT / "firebase.json").read_text())["emulators"]
PORTS = {
    "firestore": FIREBASE["firestore"]["port"],
    "pubsub": FIREBASE["pubsub"]["port"],
    "storage": FIREBASE["storage"]["port"],
    "http": int(os.environ.get("BILLING_HTTP_PORT", "8000")),
}


def stack_env() -> dict[str, str]:
    """The environment the HTTP function and the CLI use against the local stack."""
    return {
        "GOOGLE_CLOUD_PROJECT": os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-billing"),
        "BILLING_BUCKET": os.environ.get("BILLING_BUCKET", "demo-billing-invoices"),
        "BILLING_API_KEYS": os.environ.get("BILLING_API_KEYS", "local-dev-key"),
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{PORTS['firestore']}",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{PORTS['pubsub']}",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{PORTS['storage']}",
    }


def _alive(record: emu.Emulator) -> bool:
    return emu.group_alive(record.pgid) and emu.port_open(record.port)


def create_bucket(env: dict[str, str]) -> None:
    os.environ.update(env)
    from google.api_core.exceptions import Conflict
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
    try:
        client.create_bucket(env["BILLING_BUCKET"])
    except Conflict:
        pass


def start_http(port: int, env: dict[str, str], log_dir: Path) -> emu.Emulator:
    bin_dir = Path(sys.executable).parent
    argv = [
        str(bin_dir / "functions-framework"),
        "--source", str(ROOT / "functions" / "main.py"),
        "--target", "billing_http", "--host", "127.0.0.1", "--port", str(port),
    ]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "http.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **env}, cwd=ROOT, start_new_session=True,
        )
    record = emu.Emulator("http", port, proc.pid, str(log_path))
    emu.wait_until(lambda: emu.http_ok(f"http://127.0.0.1:{port}/"), "HTTP function", 60, record)
    return record


def up() -> None:
    running = {r.name: r for r in emu.load(STATE) if _alive(r)}
    env = stack_env()
    started: list[emu.Emulator] = list(running.values())
    starters = {
        "firestore": emu.start_firestore,
        "pubsub": emu.start_pubsub,
        "storage": emu.start_storage,
    }
    try:
        for name, starter in starters.items():
            if name in running:
                print(f"{name:9} already running on :{PORTS[name]}")
                continue
            if emu.port_open(PORTS[name]):
                raise SystemExit(f"port {PORTS[name]} for {name} is taken by another process; stop it first")
            record = starter(PORTS[name], STATE_DIR)
            started.append(record)
            emu.save(started, STATE)
            print(f"{name:9} up on :{record.port}")
        create_bucket(env)
        if "http" not in running:
            if emu.port_open(PORTS["http"]):
                raise SystemExit(f"port {PORTS['http']} for the HTTP function is taken; stop it first")
            started.append(start_http(PORTS["http"], env, STATE_DIR))
            emu.save(started, STATE)
            print(f"http      up on :{PORTS['http']} (functions-framework, target billing_http)")
        else:
            print(f"http      already running on :{PORTS['http']}")
    except BaseException:
        emu.save(started, STATE)
        raise
    print("stack is up; environment for the CLI:")
    for key, value in env.items():
        shown = "***" if key == "BILLING_API_KEYS" and value != "local-dev-key" else value
        print(f"  export {key}={shown}")


def down() -> None:
    records = emu.load(STATE)
    for record in reversed(records):
        emu.stop(record)
        print(f"{record.name:9} stopped")
    if STATE.exists():
        STATE.unlink()
    if not records:
        print("nothing recorded as running")


def status() -> int:
    records = emu.load(STATE)
    for record in records:
        print(f"{record.name:9} :{record.port} {'up' if _alive(record) else 'DOWN'} (pgid {record.pgid})")
    return 0 if records and all(_alive(r) for r in records) else 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command == "env":
        for k, v in stack_env().items():
            print(f"export {k}={v}")
    else:
        sys.exit(status())
