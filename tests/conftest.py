"""Session-wide emulators on free ports, and a clean Firestore project + bucket per test.

Every test that uses `firestore_project`, `bucket_name` or the emulator fixtures talks to the
official emulators / fake-gcs-server started here; nothing reaches real Google Cloud.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))
sys.path.insert(0, str(ROOT / "tests"))

import emulators  # noqa: E402

# No test may reach real Google Cloud: fail loudly instead of finding ambient credentials.
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "demo-tests")


@pytest.fixture(scope="session")
def emulator_log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emulator-logs")


def _running(starter, log_dir, env_name: str, address: str):
    """Start an emulator, point env_name at its `host` or `url` for the session, stop it after."""
    emu = starter(emulators.free_port(), log_dir)
    os.environ[env_name] = getattr(emu, address)
    try:
        yield emu
    finally:
        os.environ.pop(env_name, None)
        emulators.stop(emu)


@pytest.fixture(scope="session")
def firestore_emulator(emulator_log_dir):
    """The official Firestore emulator; FIRESTORE_EMULATOR_HOST points at it for the session."""
    yield from _running(emulators.start_firestore, emulator_log_dir, "FIRESTORE_EMULATOR_HOST", "host")


@pytest.fixture(scope="session")
def pubsub_emulator(emulator_log_dir):
    """The official Pub/Sub emulator; PUBSUB_EMULATOR_HOST points at it for the session."""
    yield from _running(emulators.start_pubsub, emulator_log_dir, "PUBSUB_EMULATOR_HOST", "host")


@pytest.fixture(scope="session")
def storage_emulator(emulator_log_dir):
    """fake-gcs-server; STORAGE_EMULATOR_HOST points at it for the session."""
    yield from _running(emulators.start_storage, emulator_log_dir, "STORAGE_EMULATOR_HOST", "url")


@pytest.fixture
def firestore_project(firestore_emulator) -> str:
    """A fresh project id: the emulator keeps one empty database per project, so each test is clean."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def firestore_client(firestore_project):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    client = firestore.Client(project=firestore_project, credentials=AnonymousCredentials())
    yield client
    client.close()


@pytest.fixture
def storage_client(storage_emulator, firestore_project):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=firestore_project, credentials=AnonymousCredentials())


@pytest.fixture
def bucket_name(storage_client) -> str:
    """A new, empty bucket on fake-gcs-server."""
    name = f"bucket-{uuid.uuid4().hex[:12]}"
    storage_client.create_bucket(name)
    return name


# -- every Firestore query the suite sends is served by firestore.indexes.json (DESIGN 17) ----------

INDEXES = ROOT / "firestore.indexes.json"


@pytest.fixture(autouse=True)
def _background_runs_finish():
    """A test that starts a month's run in a background thread (POST /billing/run in-process) lets it
    finish before the next test: otherwise it runs on over another test's fakes and logs after
    pytest has closed the streams it captured."""
    yield
    import threading

    for thread in threading.enumerate():
        if thread.name.startswith("billing-run-"):
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} still running 60 s after its test"


def pytest_configure(config) -> None:
    """The controller (or a lone process) opens the capture directory; xdist workers and the
    servers the tests start inherit FIRESTORE_QUERY_CAPTURE_DIR and write one file per process."""
    from billing.adapters import query_capture

    if not hasattr(config, "workerinput") and not os.environ.get(query_capture.ENV):
        import tempfile

        os.environ[query_capture.ENV] = tempfile.mkdtemp(prefix="firestore-queries-")
        config._query_capture_owner = True
    query_capture.install()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Check every captured query against the declared indexes; a query without its index fails the run."""
    if not getattr(session.config, "_query_capture_owner", False):
        return
    import json
    import shutil

    import index_rules
    from billing.adapters import query_capture

    directory = Path(os.environ[query_capture.ENV])
    shapes = index_rules.load_captured(directory)
    missing = index_rules.unserved(shapes, json.loads(INDEXES.read_text()))
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    (ROOT / ".pytest_cache" / "firestore-query-shapes.txt").write_text(
        "".join(sorted({s.describe() + "\n" for s in shapes})))
    distinct = sorted({s.describe() for s in shapes})
    report = session.config.pluginmanager.get_plugin("terminalreporter")
    if report is not None:
        report.write_line(f"firestore queries: {len(shapes)} sent, {len(distinct)} distinct shapes, "
                          f"{len(missing)} without an index in firestore.indexes.json")
        for s in missing:
            report.write_line(f"  NO INDEX: {s.describe()}", red=True)
        if missing:
            report.write_line("FAILED: a Firestore query has no index in firestore.indexes.json "
                              "(production answers FAILED_PRECONDITION)", red=True)
        for index in index_rules.unused(shapes, json.loads(INDEXES.read_text())) if shapes else []:
            report.write_line(f"  declared index no captured query needed: {json.dumps(index)}")
    shutil.rmtree(directory, ignore_errors=True)
    if missing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
