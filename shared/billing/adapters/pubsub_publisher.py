"""Pub/Sub publisher: JSON messages, waiting until the broker has each one."""

from __future__ import annotations

import json
from typing import Any, Mapping

from google.api_core import exceptions as gexc

from billing.errors import TransientError


class PubSubPublisher:
    """Publishes to topics of one project (honours PUBSUB_EMULATOR_HOST through the client)."""

    def __init__(self, project: str, client=None, timeout: float = 60.0):
        if client is None:
            from google.cloud import pubsub_v1

            client = pubsub_v1.PublisherClient()
        self._client = client
        self._project = project
        self._timeout = timeout

    def publish(self, topic: str, payload: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
        path = topic if topic.startswith("projects/") else self._client.topic_path(self._project, topic)
        data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        try:
            return self._client.publish(path, data, **dict(attributes)).result(timeout=self._timeout)
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, TimeoutError) as exc:
            raise TransientError(f"Pub/Sub unavailable while publishing to {topic}: {exc}") from exc
