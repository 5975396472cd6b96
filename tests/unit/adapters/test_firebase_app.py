"""The Firestore client comes from firebase_admin: the emulator's anonymous path and a service-account file."""

from __future__ import annotations

import json
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account

from billing.adapters.firebase_app import firestore_client


def test_the_emulator_path_is_anonymous_and_one_app_per_project():
    env = {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}
    project = f"emu-{uuid.uuid4().hex[:8]}"
    client = firestore_client(project, env)
    assert client.project == project and isinstance(client._credentials, AnonymousCredentials)
    assert firestore_client(project, env) is client  # initialize_app once, reused while warm


def test_a_service_account_file_is_used_as_the_old_service_did(tmp_path, monkeypatch):
    """GOOGLE_APPLICATION_CREDENTIALS (the droplet's existing file) -> those credentials; no network."""
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)  # the client would go anonymous
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    project = f"sa-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "test",
        "private_key": pem, "client_email": f"billing@{project}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    client = firestore_client(project, {"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    assert client.project == project
    assert isinstance(client._credentials, service_account.Credentials)
    assert client._credentials.service_account_email == f"billing@{project}.iam.gserviceaccount.com"
