"""The local stack: `up` starts the emulators and the functions, `down` stops them.

`up` serves the HTTP API and the four CloudEvent functions (monthly trigger, company worker,
dead letters, sequencer) with functions-framework, and creates the Pub/Sub topics and the emulator's push
subscriptions to them: Scheduler message -> trigger -> one message per company -> worker ->
sequencer (numbers drafts in batches) -> worker (finishes), on a laptop. Publish {"month": 9, "year": 2025} to billing-monthly-trigger, or POST /billing/run.
It also runs a local SMTP sink (aiosmtpd) that keeps every email in the Maildir .stack/mail, so sending
works, and seeds the demo data (`billing seed-demo`) when the database is empty.

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
STATE_DIR = Path(os.environ.get("BILLING_STACK_DIR") or ROOT / ".stack")
STATE = STATE_DIR / "processes.json"
FIREBASE = json.loads((ROOT / "firebase.json").read_text())["emulators"]
PORTS = {
    "firestore": int(os.environ.get("BILLING_FIRESTORE_PORT") or FIREBASE["firestore"]["port"]),
    "pubsub": int(os.environ.get("BILLING_PUBSUB_PORT") or FIREBASE["pubsub"]["port"]),
    "storage": int(os.environ.get("BILLING_STORAGE_PORT") or FIREBASE["storage"]["port"]),
    "http": int(os.environ.get("BILLING_HTTP_PORT", "8000")),
    "trigger": int(os.environ.get("BILLING_TRIGGER_PORT", "8001")),
    "worker": int(os.environ.get("BILLING_WORKER_PORT", "8002")),
    "dead-letter": int(os.environ.get("BILLING_DEAD_LETTER_PORT", "8003")),
    "sequencer": int(os.environ.get("BILLING_SEQUENCER_PORT", "8004")),
    "smtp": int(os.environ.get("BILLING_SMTP_PORT", "2525")),
}
MAIL_DIR = STATE_DIR / "mail"  # the SMTP sink's Maildir: one file per email received
# name -> (target in functions/main.py, signature type, topic it is pushed from)
FUNCTIONS = {
    "http": ("billing_http", "http", None),
    "trigger": ("billing_monthly_trigger", "cloudevent", "billing-monthly-trigger"),
    "worker": ("billing_company_worker", "cloudevent", "billing-company-invoice"),
    "dead-letter": ("billing_dead_letter", "cloudevent", "billing-dead-letter"),
    "sequencer": ("billing_sequencer", "cloudevent", "billing-sequencer"),
}
MAX_DELIVERY_ATTEMPTS = 5


def stack_env() -> dict[str, str]:
    """The environment the HTTP function and the CLI use against the local stack."""
    return {
        "GOOGLE_CLOUD_PROJECT": os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-billing"),
        "BILLING_BUCKET": os.environ.get("BILLING_BUCKET", "demo-billing-invoices"),
        "BILLING_READ_KEYS": os.environ.get("BILLING_READ_KEYS", "local-read-key"),
        "BILLING_API_KEYS": os.environ.get("BILLING_API_KEYS", "local-dev-key"),
        "BILLING_ADMIN_KEYS": os.environ.get("BILLING_ADMIN_KEYS", "local-admin-key"),
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{PORTS['firestore']}",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{PORTS['pubsub']}",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{PORTS['storage']}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(PORTS["smtp"]),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "billing@voxa.example",
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


def start_function(name: str, port: int, env: dict[str, str], log_dir: Path) -> emu.Emulator:
    """One function served by functions-framework on 127.0.0.1:port, in its own process group."""
    target, signature, _ = FUNCTIONS[name]
    bin_dir = Path(sys.executable).parent
    argv = [
        str(bin_dir / "functions-framework"),
        "--source", str(ROOT / "functions" / "main.py"), "--target", target,
        "--signature-type", signature, "--host", "127.0.0.1", "--port", str(port),
    ]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **env}, cwd=ROOT, start_new_session=True,
        )
    record = emu.Emulator(name, port, proc.pid, str(log_path))
    ready = (lambda: emu.http_ok(f"http://127.0.0.1:{port}/")) if signature == "http" else (lambda: emu.port_open(port))
    emu.wait_until(ready, f"{name} function", 60, record)
    return record


def start_smtp_sink(port: int, log_dir: Path) -> emu.Emulator:
    """aiosmtpd on 127.0.0.1:port, keeping every message in MAIL_DIR (a Maildir), in its own process group."""
    for part in ("tmp", "new", "cur"):  # a Maildir
        (MAIL_DIR / part).mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "aiosmtpd", "--nosetuid", "--smtputf8", "--listen", f"127.0.0.1:{port}",
            "--class", "aiosmtpd.handlers.Mailbox", str(MAIL_DIR)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "smtp.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                                start_new_session=True)
    record = emu.Emulator("smtp", port, proc.pid, str(log_path))
    emu.wait_until(lambda: emu.port_open(port), "SMTP sink", 30, record)
    return record


def seed_if_empty(env: dict[str, str]) -> bool:
    """`billing seed-demo` when the database has neither settings/billing nor a company; True if seeded."""
    os.environ.update(env)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    client = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
    try:
        empty = (not client.document("settings/billing").get().exists
                 and not list(client.collection("companies").limit(1).stream()))
    finally:
        client.close()
    if not empty:
        return False
    billing = Path(sys.executable).parent / "billing"
    seeded = subprocess.run([str(billing), "seed-demo"], env={**os.environ, **env}, capture_output=True, text=True)
    if seeded.returncode != 0:
        raise SystemExit(f"billing seed-demo failed: {seeded.stderr}")
    return True


def create_pubsub(env: dict[str, str]) -> list[str]:
    """Topics and push subscriptions to the local functions; idempotent, endpoints kept current."""
    os.environ.update(env)
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1

    project = env["GOOGLE_CLOUD_PROJECT"]
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    pushed = {name: publisher.topic_path(project, topic) for name, (_, _, topic) in FUNCTIONS.items() if topic}
    for topic in pushed.values():  # every topic first: the worker's dead-letter policy names one
        try:
            publisher.create_topic(name=topic)
        except AlreadyExists:
            pass
    try:
        return [_push_subscription(publisher, subscriber, project, topic, name) for name, topic in pushed.items()]
    finally:
        subscriber.close()


def _push_subscription(publisher, subscriber, project: str, topic: str, name: str) -> str:
    from google.api_core.exceptions import AlreadyExists

    path = subscriber.subscription_path(project, f"{name}-push")
    endpoint = f"http://127.0.0.1:{PORTS[name]}/{topic}"
    request = {"name": path, "topic": topic, "push_config": {"push_endpoint": endpoint},
               "ack_deadline_seconds": 600}
    if name in ("worker", "sequencer"):  # as on Google Cloud: give up after a few attempts, to the dead-letter function
        request["dead_letter_policy"] = {"dead_letter_topic": publisher.topic_path(project, "billing-dead-letter"),
                                         "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS}
    try:
        subscriber.create_subscription(request=request)
    except AlreadyExists:
        subscriber.modify_push_config(subscription=path, push_config={"push_endpoint": endpoint})
    return f"{path.rsplit('/', 1)[1]} -> {endpoint}"


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
                print(f"{name:11} already running on :{PORTS[name]}")
                continue
            if emu.port_open(PORTS[name]):
                raise SystemExit(f"port {PORTS[name]} for {name} is taken by another process; stop it first")
            record = starter(PORTS[name], STATE_DIR)
            started.append(record)
            emu.save(started, STATE)
            print(f"{name:11} up on :{record.port}")
        create_bucket(env)
        if "smtp" in running:
            print(f"{'smtp':11} already running on :{PORTS['smtp']}")
        elif emu.port_open(PORTS["smtp"]):
            raise SystemExit(f"port {PORTS['smtp']} for the SMTP sink is taken; stop it first (or set BILLING_SMTP_PORT)")
        else:
            started.append(start_smtp_sink(PORTS["smtp"], STATE_DIR))
            emu.save(started, STATE)
            print(f"{'smtp':11} up on :{PORTS['smtp']} (a local sink: every email lands in {MAIL_DIR})")
        for name, (target, _, _) in FUNCTIONS.items():
            if name in running:
                print(f"{name:11} already running on :{PORTS[name]}")
                continue
            if emu.port_open(PORTS[name]):
                raise SystemExit(f"port {PORTS[name]} for the {name} function is taken; stop it first")
            started.append(start_function(name, PORTS[name], env, STATE_DIR))
            emu.save(started, STATE)
            print(f"{name:11} up on :{PORTS[name]} (functions-framework, target {target})")
        for line in create_pubsub(env):
            print(f"push        {line}")
        if seed_if_empty(env):
            print("database    was empty: seeded the demo data (billing seed-demo: settings/billing, companies "
                  "vysedeck, webxpress, dcgpac, their Sep-Oct 2025 call logs)")
        else:
            print("database    has data: not seeded (`billing seed-demo` re-seeds the demo companies)")
    except BaseException:
        emu.save(started, STATE)
        raise
    print("stack is up; environment for the CLI:")
    for key, value in env.items():
        local = {"BILLING_READ_KEYS": "local-read-key", "BILLING_API_KEYS": "local-dev-key",
                 "BILLING_ADMIN_KEYS": "local-admin-key"}
        shown = "***" if key in local and value != local[key] else value
        print(f"  export {key}={shown}")


def down() -> None:
    records = emu.load(STATE)
    for record in reversed(records):
        emu.stop(record)
        print(f"{record.name:11} stopped")
    if STATE.exists():
        STATE.unlink()
    if not records:
        print("nothing recorded as running")


def status() -> int:
    records = emu.load(STATE)
    for record in records:
        print(f"{record.name:11} :{record.port} {'up' if _alive(record) else 'DOWN'} (pgid {record.pgid})")
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
