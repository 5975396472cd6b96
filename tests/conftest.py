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


def _started(starter, emulator_log_dir):
    emu = starter(emulators.free_port(), emulator_log_dir)
    try:
        yield emu
    finally:
        emulators.stop(emu)


@pytest.fixture(scope="session")
def firestore_emulator(emulator_log_dir):
    """The official Firestore emulator; FIRESTORE_EMULATOR_HOST points at it for the session."""
    for emu in _started(emulators.start_firestore, emulator_log_dir):
        os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
        yield emu
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def pubsub_emulator(emulator_log_dir):
    """The official Pub/Sub emulator; PUBSUB_EMULATOR_HOST points at it for the session."""
    for emu in _started(emulators.start_pubsub, emulator_log_dir):
        os.environ["PUBSUB_EMULATOR_HOST"] = emu.host
        yield emu
        os.environ.pop("PUBSUB_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def storage_emulator(emulator_log_dir):
    """fake-gcs-server; STORAGE_EMULATOR_HOST points at it for the session."""
    for emu in _started(emulators.start_storage, emulator_log_dir):
        os.environ["STORAGE_EMULATOR_HOST"] = emu.url
        yield emu
        os.environ.pop("STORAGE_EMULATOR_HOST", None)


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
