"""Pub/Sub publisher: JSON messages, one at a time or many at once through the client's batching."""

from __future__ import annotations

import json
from concurrent import futures as cf
from typing import Any, Callable, Mapping, Sequence

from google.api_core import exceptions as gexc

from billing.adapters.deadlines import retry_policy
from billing.adapters.sdk_errors import configuration_error, is_configuration, is_transient
from billing.errors import CloudConfigurationError, TransientError
from billing.ports import OutgoingMessage

# Batches of up to 500 messages / 1 MB (a 10,000-company fan-out is ~20 RPCs); a lone message
# (the manual trigger) waits at most 10 ms for company.
BATCH_MAX_MESSAGES = 500
BATCH_MAX_BYTES = 1_000_000
BATCH_MAX_LATENCY = 0.01


def _client() -> Any:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    settings = pubsub_v1.types.BatchSettings(
        max_messages=BATCH_MAX_MESSAGES, max_bytes=BATCH_MAX_BYTES, max_latency=BATCH_MAX_LATENCY)
    return pubsub_v1.PublisherClient(batch_settings=settings)


def encode(payload: Mapping[str, object]) -> bytes:
    """The message body: compact, key-sorted JSON."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


class PubSubPublisher:
    """Publishes to topics of one project (honours PUBSUB_EMULATOR_HOST through the client)."""

    def __init__(self, project: str, client: Any = None, timeout: float = 120.0):
        self._client = client if client is not None else _client()
        self._project = project
        self._timeout = timeout
        # Each batch's publish RPC: this deadline, retried for at most as long (DESIGN 10).
        self._call: dict[str, Any] = {"retry": retry_policy(timeout), "timeout": timeout}

    def _path(self, topic: str) -> str:
        return topic if topic.startswith("projects/") else str(self._client.topic_path(self._project, topic))

    def _send(self, path: str, message: OutgoingMessage) -> Any:
        return self._client.publish(path, encode(message.to_payload()), **self._call, **dict(message.attributes()))

    def publish(self, topic: str, message: OutgoingMessage) -> str:
        """Publish one message and wait until the broker has it; returns its id."""
        future = self._send(self._path(topic), message)
        return str(_wait([future], topic, self._timeout)[0])

    def publish_many(self, topic: str, messages: Sequence[OutgoingMessage]) -> Callable[[], int]:
        """Hand every message to the client's batcher now; wait() collects the futures once."""
        path = self._path(topic)
        pending = [self._send(path, message) for message in messages]
        # a fan-out's batches are sent concurrently; allow them the old two minutes in all
        return lambda: len(_wait(pending, topic, max(120.0, self._timeout)))


def _wait(pending: Sequence[Any], topic: str, timeout: float) -> list[str]:
    """The message ids of every future; a failure raises TransientError naming the topic."""
    try:
        done, not_done = cf.wait(pending, timeout=timeout + 5)  # each RPC's own deadline comes first
        if not_done:
            raise TimeoutError(f"{len(not_done)} of {len(pending)} messages unconfirmed after {timeout:.0f}s")
        return [str(f.result()) for f in pending]
    except gexc.NotFound as exc:
        raise configuration_error(
            f"publishing to Pub/Sub topic {topic!r}", exc,
            "the topic does not exist: create it (make up locally, infra/setup_scheduler.py on Google "
            "Cloud) or set BILLING_RUN_MODE=in-process") from exc
    except Exception as exc:
        if is_transient(exc) or isinstance(exc, TransientError):
            raise TransientError(f"Pub/Sub unavailable while publishing to {topic}: {exc}") from exc
        if is_configuration(exc) and not isinstance(exc, CloudConfigurationError):
            raise configuration_error(f"publishing to Pub/Sub topic {topic!r}", exc) from exc
        raise
