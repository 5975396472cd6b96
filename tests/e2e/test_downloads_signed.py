"""Where signing is available, file routes redirect to a V4 signed URL instead of streaming."""

from __future__ import annotations

import pytest
from functions_framework import create_app

from billing.adapters.gcs_blobs import GcsBlobStore
from billing.bootstrap import Container, reset_container
from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_pdf_route_redirects_to_the_signed_url(firestore_project, storage_client, bucket_name, monkeypatch):
    signed = []

    def signer(blob, filename):
        signed.append((blob.name, filename))
        return f"https://storage.googleapis.com/{blob.bucket.name}/{blob.name}?X-Goog-Algorithm=GOOG4-RSA-SHA256"

    settings = Settings(project=firestore_project, bucket=bucket_name, api_keys=("k",))
    container = Container(settings)
    container.blobs = GcsBlobStore(container.storage, bucket_name, signer=signer)
    seed_demo(container.firestore, settings)
    reset_container(container)
    try:
        client = create_app("billing_http", "functions/main.py").test_client()
        response = client.post("/billing/generate/vysedeck?month=9&year=2025", headers={"X-API-Key": "k"})
        assert response.status_code == 200, response.json
        assert response.json["downloadLinks"]["pdf"].startswith("https://storage.googleapis.com/")
        response = client.get("/billing/invoices/vysedeck/2025-09/pdf", headers={"X-API-Key": "k"})
        assert response.status_code == 302
        assert "X-Goog-Algorithm=GOOG4-RSA-SHA256" in response.headers["Location"]
        assert ("invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf",) == signed[-1][:1]
        assert signed[-1][1].endswith("_vysedeck_2025-09_invoice.pdf")
    finally:
        reset_container(None)
