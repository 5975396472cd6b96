"""The droplet's nginx files through a real nginx (Debian's package) in front of a real
functions-framework server on the emulators: the /billing-api prefix, download links that come
back through nginx (its port kept), and 429 with a JSON body past the rate limits.

The test includes both shipped files; the only change is the upstream's port in
nginx-billing-ratelimit.conf (127.0.0.1:8000 -> the test server's free port). nginx runs in the
foreground on a free port with a temporary prefix, and is stopped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import emulators
from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import API_KEY, ROOT

pytestmark = pytest.mark.emulators

DROPLET = ROOT / "infra" / "droplet"
PORTAL_KEY = "droplet-portal-key-0123456789abcdef0123"
SHIPPED_UPSTREAM = "server 127.0.0.1:8000;"


def nginx_binary() -> str:
    """nginx from PATH or /usr/sbin; installed with apt-get when missing and running as root."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("nginx is not installed (apt-get install -y nginx); the test installs it only as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"could not install nginx with apt-get: {done.stderr[-500:]}")
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        pytest.skip("apt-get installed nginx but no nginx binary was found")
    return found


def nginx_conf(tmp: Path, listen_port: int, upstream_port: int) -> Path:
    ratelimit = (DROPLET / "nginx-billing-ratelimit.conf").read_text()
    assert ratelimit.count(SHIPPED_UPSTREAM) == 1, "the documented substitution point moved"
    snippet = tmp / "nginx-billing-ratelimit.conf"
    snippet.write_text(ratelimit.replace(SHIPPED_UPSTREAM, f"server 127.0.0.1:{upstream_port};"))
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {snippet};
    server {{
        listen 127.0.0.1:{listen_port};
        server_name localhost;
        include {DROPLET / "nginx-billing-api.conf"};
    }}
}}
""")
    return conf


@pytest.fixture
def droplet(make_server, tmp_path):
    """(nginx base URL, the Api behind it): nginx on a free port in front of a fresh server."""
    yield from run_droplet(make_server, tmp_path, {})


@pytest.fixture
def portal_droplet(make_server, tmp_path):
    """The same, with a link-signing key: the customer portal on."""
    yield from run_droplet(make_server, tmp_path, {"BILLING_LINK_SIGNING_KEY": PORTAL_KEY})


def run_droplet(make_server, tmp_path, env):
    binary = nginx_binary()
    api = make_server(env)
    seed_demo(api.db, Settings(project=api.project))
    upstream_port = int(api.base.rsplit(":", 1)[1])
    port = emulators.free_port()
    conf = nginx_conf(tmp_path, port, upstream_port)
    check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    log = open(tmp_path / "nginx.out", "wb")
    proc = subprocess.Popen([binary, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not emulators.port_open(port):
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", api
    finally:
        proc.terminate()  # nginx's master: TERM is a fast shutdown, workers included
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def call(method: str, url: str, key: str | None = API_KEY):
    req = urllib.request.Request(url, method=method, headers={"X-API-Key": key} if key else {},
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def until_limited(method: str, url: str, most: int = 200) -> tuple[int, bytes, object]:
    """Send requests back to back until one is refused; (how many passed, that response)."""
    for passed in range(most):
        status, body, headers = call(method, url)
        if status == 429:
            return passed, body, headers
        assert status < 400, (status, body)
    raise AssertionError(f"no 429 after {most} {method} requests to {url}")


def test_prefix_links_through_the_proxy_and_rate_limits(droplet):
    base, api = droplet
    status, body, _ = call("GET", f"{base}/billing-api/", key=None)
    assert (status, json.loads(body)) == (200, {"message": "Billing API is running!"})

    status, body, _ = call("POST", f"{base}/billing-api/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, body
    links = json.loads(body)["downloadLinks"]
    # Through nginx, its port kept (Host: $http_host), the prefix put back.
    assert links == {kind: f"{base}/billing-api/billing/invoices/vysedeck/2025-09/{kind}" for kind in ("pdf", "csv")}
    status, pdf, headers = call("GET", links["pdf"])
    assert status == 200 and pdf.startswith(b"%PDF") and headers["Content-Type"] == "application/pdf"
    status, data, headers = call("GET", links["csv"])
    assert status == 200 and headers["Content-Type"].startswith("text/csv") and b"callId" in data

    # generate (POST) is limited much sooner than reads; both refuse with a JSON 429.
    posts, body, headers = until_limited("POST", f"{base}/billing-api/billing/generate/vysedeck?month=9&year=2025")
    assert headers["Content-Type"] == "application/json" and headers["Retry-After"] == "1"
    assert json.loads(body) == {"detail": "Too many requests: rate limit exceeded; retry later."}
    time.sleep(2.5)  # let the read bucket refill: the POSTs counted against it too
    reads, body, headers = until_limited("GET", f"{base}/billing-api/billing/invoices/vysedeck")
    assert headers["Content-Type"] == "application/json" and "detail" in json.loads(body)
    assert posts < reads and posts <= 10, (posts, reads)  # shipped: POST burst 5, reads burst 20


def test_the_customer_portal_through_the_prefix(portal_droplet):
    """The portal's page and the files it links to, relative to the page, through nginx's /billing-api."""
    import re
    from urllib.parse import urljoin

    from billing.ports import utc_now
    from billing.services.portal import PortalTokens

    base, api = portal_droplet
    status, body, _ = call("POST", f"{base}/billing-api/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, body
    page_url = f"{base}/billing-api/portal/{PortalTokens(PORTAL_KEY, utc_now).issue('vysedeck')}"
    status, page, headers = call("GET", page_url, key=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html"), page
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    [href] = re.findall(r'href="([^"]+/invoices/vysedeck_2025-09/pdf)"', page.decode())
    status, pdf, _ = call("GET", urljoin(page_url, href), key=None)
    assert status == 200 and pdf.startswith(b"%PDF-")
    assert urljoin(page_url, href).startswith(f"{base}/billing-api/portal/")
    status, forbidden, headers = call("GET", page_url[:-2] + "xx", key=None)
    assert status == 403 and headers["Content-Type"].startswith("text/html") and b"cannot be opened" in forbidden
