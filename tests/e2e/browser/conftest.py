"""A real browser for the console and portal tests: Debian's chromium, headless, driven by
Playwright's Python client with the system binary (no browser download: this machine reaches only
the package registries).

chromium is installed with apt-get when missing and the tests run as root (as nginx is for the
droplet tests). Screenshots go to `SCREENSHOT_DIR` (default `build/screenshots/`) so a person can
look at what the tests saw.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
PACKAGES = ["chromium"]
# Without the background-networking flags chromium keeps dialling Google's hosts, which a closed
# network refuses; --no-sandbox because the tests may run as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def _unavailable(reason: str) -> None:
    """CI must run the browser tests: there a missing browser fails; elsewhere it skips."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _unavailable("chromium is not installed (apt-get install -y chromium); the tests install it only as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            _unavailable(f"could not install chromium with apt-get: {done.stderr[-500:]}")
    found = shutil.which("chromium")
    if not found:
        _unavailable("apt-get installed chromium but no chromium binary was found")
    return str(found)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium per xdist worker; each test opens its own context (cookies apart)."""
    from playwright.sync_api import sync_playwright

    binary = chromium_binary()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@pytest.fixture
def new_page(browser):
    """`new_page(width=1280)`: a page in a fresh context (no cookies) of that viewport width."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-IN")
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
