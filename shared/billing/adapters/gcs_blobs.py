"""Cloud Storage adapter: streamed staging uploads, create-only final objects, downloads, signed URLs."""

from __future__ import annotations

import base64
import hashlib
import logging
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, BinaryIO, Callable, Iterator, cast

import google.cloud.storage as storage  # untyped (no py.typed): an ignore_missing_imports override
from google.api_core import exceptions as gexc

from billing.adapters.deadlines import storage_retry
from billing.adapters.sdk_errors import configuration_error, transient
from billing.errors import NotFoundError

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
STAGING_PREFIX = "staging/"  # domain.invoice.staging_path


def content_disposition(filename: str) -> str:
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-")
    return f'attachment; filename="{safe}"'


class _HashingWriter:
    """Wraps a binary writer and keeps the MD5 of what passed through (to compare with GCS's)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        self.size += len(data)
        return self._raw.write(data)

    def md5_base64(self) -> str:
        return base64.b64encode(self.md5.digest()).decode()


class GcsBlobStore:
    """The invoice bucket, where final objects are only ever created, never overwritten (on Google
    Cloud it has a retention policy); staging objects (`staging/...`) in a separate bucket when one
    is configured, so that its lifecycle rule may delete them."""

    def __init__(
        self,
        client: storage.Client,
        bucket: str,
        signer: Callable[[storage.Blob, str], str] | None = None,
        staging_bucket: str | None = None,
        timeout: float = 60.0,
    ):
        self._client = client
        self._bucket = client.bucket(bucket)
        self._staging = client.bucket(staging_bucket) if staging_bucket else self._bucket
        self._signer = signer
        # Every call: this deadline per request, and the library's retries for at most as long in all.
        self._call: dict[str, Any] = {"timeout": timeout, "retry": storage_retry(timeout)}

    def _at(self, path: str) -> storage.Bucket:
        return self._staging if path.startswith(STAGING_PREFIX) else self._bucket

    def uri(self, path: str) -> str:
        return f"gs://{self._at(path).name}/{path}"

    @contextmanager
    def writer(self, path: str, content_type: str, filename: str) -> Iterator[_HashingWriter]:
        blob = self._at(path).blob(path)
        blob.content_disposition = content_disposition(filename)
        with self._bucket_exists(path), transient(f"Cloud Storage, writing {path}"):
            with blob.open("wb", content_type=content_type, chunk_size=8 * 256 * 1024, **self._call) as raw:
                hashing = _HashingWriter(raw)
                yield hashing

    @contextmanager
    def _bucket_exists(self, path: str) -> Iterator[None]:
        """A 404 while writing a new object: the bucket itself is missing (a configuration error)."""
        try:
            yield
        except gexc.NotFound as exc:
            raise configuration_error(f"Cloud Storage bucket {self._at(path).name}", exc,
                                      "the bucket does not exist: create it (README: Google Cloud)") from exc

    def promote(self, staging_path: str, final_path: str) -> None:
        final = self._bucket.blob(final_path)
        with transient(f"Cloud Storage, checking {final_path}"):
            if final.exists(**self._call):
                return
        try:
            # GCS enforces the precondition atomically; the exists() check above also keeps
            # fake-gcs-server (which ignores preconditions on copy) from rewriting it.
            with transient(f"Cloud Storage, storing {final_path}"):
                source = self._at(staging_path)
                source.copy_blob(source.blob(staging_path), self._bucket, final_path, if_generation_match=0,
                                 **self._call)
        except gexc.PreconditionFailed:
            return

    def compose(self, sources: list[str], dest: str, content_type: str, filename: str) -> str:
        """Concatenate staged parts (at most 32) into one object; returns its CRC32C."""
        bucket = self._at(dest)
        blob = bucket.blob(dest)
        blob.content_type = content_type
        blob.content_disposition = content_disposition(filename)
        with transient(f"Cloud Storage, composing {dest}"):
            blob.compose([bucket.blob(p) for p in sources], **self._call)
            blob.reload(**self._call)
        return f"crc32c:{blob.crc32c}"

    def put_create_only(self, path: str, data: bytes, content_type: str, filename: str) -> bool:
        blob = self._at(path).blob(path)
        blob.content_disposition = content_disposition(filename)
        try:
            with self._bucket_exists(path), transient(f"Cloud Storage, writing {path}"):
                blob.upload_from_string(data, content_type=content_type, if_generation_match=0, **self._call)
            return True
        except gexc.PreconditionFailed:
            return False

    def exists(self, path: str) -> bool:
        with transient(f"Cloud Storage, checking {path}"):
            return cast(bool, self._at(path).blob(path).exists(**self._call))

    def size(self, path: str) -> int | None:
        with transient(f"Cloud Storage, checking {path}"):
            blob = self._at(path).get_blob(path, **self._call)
        return None if blob is None else blob.size

    def read(self, path: str) -> bytes:
        try:
            with transient(f"Cloud Storage, reading {path}"):
                return cast(bytes, self._at(path).blob(path).download_as_bytes(**self._call))
        except gexc.NotFound:
            raise NotFoundError(f"file {path} not found") from None

    def open_read(self, path: str) -> Iterator[bytes]:
        with transient(f"Cloud Storage, reading {path}"):
            blob = self._at(path).get_blob(path, **self._call)
        if blob is None:
            raise NotFoundError(f"file {path} not found")
        return self._chunks(blob, self._call)

    @staticmethod
    def _chunks(blob: storage.Blob, call: dict[str, Any]) -> Iterator[bytes]:
        with transient(f"Cloud Storage, reading {blob.name}"):
            with blob.open("rb", chunk_size=CHUNK, **call) as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

    def delete(self, path: str) -> None:
        try:
            with transient(f"Cloud Storage, deleting {path}"):
                self._at(path).blob(path).delete(**self._call)
        except gexc.NotFound:
            pass

    def signed_url(self, path: str, filename: str) -> str | None:
        if self._signer is None:
            return None
        return self._signer(self._bucket.blob(path), filename)


def iam_signer(expiration: timedelta = timedelta(days=7)) -> Callable[[storage.Blob, str], str]:
    """V4 signing with the runtime's own identity through IAM signBlob (no key file).

    Seven days is V4's maximum: links in customer emails keep opening for a week."""
    import google.auth
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])

    def sign(blob: storage.Blob, filename: str) -> str:
        if not credentials.valid:
            credentials.refresh(Request())
        return cast(str, blob.generate_signed_url(
            version="v4",
            expiration=expiration,
            method="GET",
            service_account_email=getattr(credentials, "service_account_email", None),
            access_token=credentials.token,
            response_disposition=content_disposition(filename),
        ))

    return sign
