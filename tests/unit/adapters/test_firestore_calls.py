"""The call-log reader's error translation and its channel to real Firestore (no network needed)."""

from __future__ import annotations

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from billing.adapters.firestore_calls import FirestoreCallLogs, open_channel
from billing.config import Settings
from billing.domain.period import BillingPeriod
from billing.errors import CloudConfigurationError, TransientError

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")


class StreamBroken(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


@pytest.fixture
def client(monkeypatch):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    return firestore.Client(project="demo-billing", credentials=AnonymousCredentials())


def reader_whose_stream_fails(client, monkeypatch, code):
    reader = FirestoreCallLogs(client, Settings(), fast=True)

    def broken(company_id, query):
        raise StreamBroken(code)
        yield  # pragma: no cover - a generator that fails on its first read

    monkeypatch.setattr(reader, "_run_raw", broken)
    return reader


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_stream_the_server_drops_is_a_transient_error(client, monkeypatch, code):
    reader = reader_whose_stream_fails(client, monkeypatch, code)
    with pytest.raises(TransientError, match="reading call logs"):
        list(reader.stream("acme", SEPT))


@pytest.mark.parametrize("code", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_refused_query_is_a_configuration_error_not_retried(client, monkeypatch, code):
    reader = reader_whose_stream_fails(client, monkeypatch, code)
    with pytest.raises(CloudConfigurationError, match="configuration: reading call logs"):
        list(reader.slices("acme", SEPT, 2)[1])


def test_an_invalid_query_is_neither_transient_nor_configuration(client, monkeypatch):
    reader = reader_whose_stream_fails(client, monkeypatch, grpc.StatusCode.INVALID_ARGUMENT)
    with pytest.raises(StreamBroken):
        list(reader.slices("acme", SEPT, 2)[1])


def test_the_channel_to_firestore_is_built_from_the_clients_credentials_without_network(client):
    channel = open_channel(client)
    try:
        assert isinstance(channel, grpc.Channel)
    finally:
        channel.close()
