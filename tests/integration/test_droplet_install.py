"""infra/droplet/install.sh in a throwaway root, and the venv it builds billing on the emulators.

The script runs with BILLING_DESTDIR=<tmp> and BILLING_INSTALL_SYSTEM=0 (no apt-get, useradd,
chown, supervisorctl or nginx reload): everything else is what a droplet gets, the venv included
(`pip install '.[cli]'`, from PyPI with pip's cache). One install serves every test here, also
across xdist workers (a lock file in the session's shared temporary directory).
"""

from __future__ import annotations

import configparser
import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import emulators

pytestmark = pytest.mark.emulators

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "infra" / "droplet" / "install.sh"
APP = "opt/billing"


@pytest.fixture(scope="session")
def droplet_root(tmp_path_factory) -> Path:
    """The throwaway root install.sh wrote into (built once per test session)."""
    shared = tmp_path_factory.getbasetemp().parent  # the same directory for every xdist worker
    root = shared / "droplet-root"
    with open(shared / "droplet-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "install.out"
        if not done.exists():
            env = {**os.environ, "BILLING_DESTDIR": str(root), "BILLING_INSTALL_SYSTEM": "0",
                   "BILLING_PYTHON": sys._base_executable}  # the interpreter behind this venv (>= 3.11)
            result = subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True,
                                    timeout=900)
            assert result.returncode == 0, result.stdout + result.stderr
            done.write_text(result.stdout)
    return root


def debian_tool(binary: str, package: str) -> str:
    """The tool from PATH or /usr/sbin; installed with apt-get when missing and running as root."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{binary} is not installed (apt-get install -y {package}); the test installs it only as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if not found:
        pytest.skip(f"apt-get could not install {package}")
    return found


def test_install_script_lays_down_every_file_a_droplet_needs(droplet_root):
    out = (droplet_root / "install.out").read_text()
    assert "created /etc/billing/env from env.example" in out and "done: billing" in out

    # the code and its launchers
    app = droplet_root / APP
    for script in ("run-http.sh", "run-cli.sh", "install.sh"):
        assert os.access(app / "infra" / "droplet" / script, os.X_OK), script
    assert (app / "functions" / "main.py").is_file() and (app / "templates").is_dir()
    assert not (app / ".git").exists() and not (app / ".stack").exists()

    # supervisor: parses, runs the shipped launcher as billing, logs where the directory exists
    conf = configparser.RawConfigParser()
    conf.read(droplet_root / "etc/supervisor/conf.d/billing.conf")
    program = conf["program:billing-http"]
    assert program["command"] == "/opt/billing/infra/droplet/run-http.sh" and program["user"] == "billing"
    assert (droplet_root / program["command"].lstrip("/")).is_file()
    assert (droplet_root / Path(program["stdout_logfile"]).parent.relative_to("/")).is_dir()

    # cron: /etc/cron.d format (5 time fields, user, command), no CRON_TZ, the command exists
    lines = [line for line in (droplet_root / "etc/cron.d/billing").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert [line.split()[7] for line in lines] == ["run", "remind"], lines
    field = re.compile(r"^(\*|\d+(-\d+)?(,\d+(-\d+)?)*)(/\d+)?$")
    for line in lines:
        fields = line.split(None, 6)
        assert all(field.match(f) for f in fields[:5]), fields
        assert fields[5] == "billing"
        assert os.access(droplet_root / fields[6].split()[0].lstrip("/"), os.X_OK)
    assert "CRON_TZ" not in (droplet_root / "etc/cron.d/billing").read_text().replace("ignores CRON_TZ", "")

    # the environment file: from env.example, with a generated link-signing key, not world-readable
    env_file = droplet_root / "etc/billing/env"
    assert env_file.stat().st_mode & 0o777 == 0o640
    key = re.search(r"^BILLING_LINK_SIGNING_KEY=([0-9a-f]+)$", env_file.read_text(), re.M)
    assert key and len(key.group(1)) == 64
    assert (droplet_root / "var/log/billing").is_dir()


def test_install_script_keeps_an_existing_environment_file(droplet_root, tmp_path):
    """A rerun (upgrade) never overwrites /etc/billing/env; it replaces the code and keeps the venv."""
    root = tmp_path / "root"
    (root / "etc/billing").mkdir(parents=True)
    (root / "etc/billing/env").write_text("GOOGLE_CLOUD_PROJECT=kept\n")
    shutil.copytree(droplet_root / APP / ".venv", root / APP / ".venv", symlinks=True)
    (root / APP / "shared/billing").mkdir(parents=True)
    (root / APP / "shared/billing/deleted_upstream.py").write_text("")
    env = {**os.environ, "BILLING_DESTDIR": str(root), "BILLING_INSTALL_SYSTEM": "0",
           "BILLING_PYTHON": sys._base_executable}
    result = subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept the existing /etc/billing/env" in result.stdout
    assert (root / "etc/billing/env").read_text() == "GOOGLE_CLOUD_PROJECT=kept\n"
    assert not (root / APP / "shared/billing/deleted_upstream.py").exists()


def test_logrotate_accepts_the_config(droplet_root, tmp_path):
    logrotate = debian_tool("logrotate", "logrotate")
    text = (droplet_root / "etc/logrotate.d/billing").read_text()
    # The one substitution: the log directory, made as install.sh makes it (mode 0750), owned by
    # another user than root when the test can (logrotate refuses a group-writable one without `su`).
    installed = droplet_root / "var/log/billing"
    logs = tmp_path / "logs"
    logs.mkdir()
    logs.chmod(installed.stat().st_mode & 0o777)
    (logs / "http.log").write_text("{}\n")
    if os.geteuid() == 0:
        os.chown(logs, 65534, 65534)  # nobody, as billing on a droplet
    conf = tmp_path / "billing"
    conf.write_text(text.replace("/var/log/billing/", f"{logs}/"))
    result = subprocess.run([logrotate, "-d", "-s", str(tmp_path / "state"), str(conf)], capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stderr.lower(), result.stderr


def test_nginx_accepts_the_installed_snippets(droplet_root, tmp_path):
    from e2e.test_droplet_nginx import nginx_binary  # installs Debian's nginx as root when missing

    binary = nginx_binary()
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 16; }}
http {{
    client_body_temp_path {tmp_path}/client_body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {droplet_root}/etc/nginx/conf.d/billing-ratelimit.conf;
    server {{
        listen 127.0.0.1:{emulators.free_port()};
        include {droplet_root}/etc/nginx/snippets/billing-api.conf;
    }}
}}
""")
    result = subprocess.run([binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_installed_cli_bills_a_month_on_the_emulators(droplet_root, firestore_project, bucket_name, tmp_path):
    """The venv exactly as the script built it: --help, then seed-demo and `billing run` through run-cli.sh."""
    app = droplet_root / APP
    billing = app / ".venv" / "bin" / "billing"
    for argv in ([str(billing), "--help"], [str(billing), "run", "--help"]):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage: billing" in result.stdout, result.stderr
    # runtime dependencies only: no test or deploy tooling in the droplet's venv
    probe = subprocess.run([str(app / ".venv/bin/python"), "-c",
                            "import importlib.util as u; print([m for m in ('pytest', 'google.cloud.scheduler', "
                            "'mypy', 'tqdm', 'functions_framework') if u.find_spec(m.split('.')[0]) and "
                            "(m != 'google.cloud.scheduler' or u.find_spec(m))])"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "['tqdm', 'functions_framework']", probe.stdout + probe.stderr

    env_file = tmp_path / "env"
    env_file.write_text(
        f"GOOGLE_CLOUD_PROJECT={firestore_project}\nBILLING_BUCKET={bucket_name}\n"
        f"FIRESTORE_EMULATOR_HOST={os.environ['FIRESTORE_EMULATOR_HOST']}\n"
        f"STORAGE_EMULATOR_HOST={os.environ['STORAGE_EMULATOR_HOST']}\n"
    )
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BILLING_", "GOOGLE_", "FIRESTORE_", "STORAGE_", "PUBSUB_", "SMTP_"))}
    clean["BILLING_ENV_FILE"] = str(env_file)
    cli = str(app / "infra" / "droplet" / "run-cli.sh")
    seeded = subprocess.run([cli, "seed-demo"], env=clean, capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    run = subprocess.run([cli, "run", "--month", "9", "--year", "2025", "--no-progress"], env=clean,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "billing run 2025-09: 3 invoiced, 0 failed, 0 waiting" in run.stdout, run.stdout
