"""The Firestore client, obtained through firebase-admin as the old service did.

One firebase_admin App per project and process (initialize_app once, reused while warm). Its
credential is anonymous when FIRESTORE_EMULATOR_HOST points at an emulator, otherwise Application
Default Credentials: the file named by GOOGLE_APPLICATION_CREDENTIALS when set (the droplet's
existing service-account file), else the runtime's identity (Cloud Functions).
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

import firebase_admin
from firebase_admin import credentials, firestore
from google.auth.credentials import AnonymousCredentials, Credentials

from billing.adapters import query_capture

_lock = threading.Lock()


class EmulatorCredential(credentials.Base):  # type: ignore[misc]
    """No credentials: the emulators accept anonymous clients."""

    def get_credential(self) -> Credentials:
        return AnonymousCredentials()


def app_credential(env: Mapping[str, str]) -> credentials.Base:
    """The credential for this environment: anonymous on the emulator, else ADC (which reads the
    GOOGLE_APPLICATION_CREDENTIALS file itself)."""
    if env.get("FIRESTORE_EMULATOR_HOST"):
        return EmulatorCredential()
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
    query_capture.install()  # a no-op unless the test suite asks for its queries
    return firestore.client(firebase_app(project, env))
