"""The Firestore client comes from firebase_admin: anonymous on the emulator, else the file ADC names."""

from __future__ import annotations

import json
import uuid

from google.auth.credentials import AnonymousCredentials
from google.oauth2 import credentials as user_credentials

from billing.adapters.firebase_app import firestore_client


def test_the_emulator_path_is_anonymous_and_one_app_per_project():
    env = {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}
    project = f"emu-{uuid.uuid4().hex[:8]}"
    client = firestore_client(project, env)
    assert client.project == project and isinstance(client._credentials, AnonymousCredentials)
    assert firestore_client(project, env) is client  # initialize_app once, reused while warm


def test_the_credentials_file_named_by_the_environment_is_used(tmp_path, monkeypatch):
    """GOOGLE_APPLICATION_CREDENTIALS (the droplet's existing file) is what the client signs with.

    The file here is an ADC user-credentials file with made-up values (no key material); a
    service-account file takes the same route through google.auth.default(). No network is used."""
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "billing-test.apps.example",
                                "client_secret": "not-a-secret", "refresh_token": "not-a-token"}))
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)  # the client would go anonymous
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    project = f"adc-{uuid.uuid4().hex[:8]}"
    client = firestore_client(project, {"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    assert client.project == project
    assert isinstance(client._credentials, user_credentials.Credentials)
    assert client._credentials.client_id == "billing-test.apps.example"
