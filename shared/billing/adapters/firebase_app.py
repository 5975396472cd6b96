"""The Firestore client, obtained through firebase-admin as the old service did.

One firebase_admin App per project and process (initialize_app once, reused while warm). Its
credential is, in order: anonymous when FIRESTORE_EMULATOR_HOST points at an emulator; the
service-account file named by GOOGLE_APPLICATION_CREDENTIALS (the droplet's existing setup);
otherwise Application Default Credentials (Cloud Functions' runtime identity).
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

import firebase_admin
from firebase_admin import credentials, firestore
from google.auth.credentials import AnonymousCredentials, Credentials

_lock = threading.Lock()


class EmulatorCredential(credentials.Base):  # type: ignore[misc]
    """No credentials: the emulators accept anonymous clients."""

    def get_credential(self) -> Credentials:
        return AnonymousCredentials()


def app_credential(env: Mapping[str, str]) -> credentials.Base:
    """The credential for this environment (emulator, service-account file, or ADC)."""
    if env.get("FIRESTORE_EMULATOR_HOST"):
        return EmulatorCredential()
    key_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file:
        return credentials.Certificate(key_file)
    return credentials.ApplicationDefault()


def firebase_app(project: str, env: Mapping[str, str]) -> firebase_admin.App:
    """The process's App for `project`, initialised on first use."""
    name = f"billing-{project}"
    with _lock:
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            return firebase_admin.initialize_app(app_credential(env), {"projectId": project}, name=name)


def firestore_client(project: str, env: Mapping[str, str]) -> Any:
    """google.cloud.firestore.Client for `project`, through firebase_admin."""
    return firestore.client(firebase_app(project, env))
