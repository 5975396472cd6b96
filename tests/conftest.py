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
