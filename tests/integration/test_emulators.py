"""Each emulator answers through the real Google client libraries (the foundation's smoke test)."""

import uuid

import pytest

pytestmark = pytest.mark.emulators


def test_firestore_round_trip(firestore_client):
    ref = firestore_client.collection("smoke").document("one")
    ref.set({"answer": 42})
    assert ref.get().to_dict() == {"answer": 42}


def test_each_test_gets_an_empty_database(firestore_client):
    assert list(firestore_client.collection("smoke").stream()) == []


def test_storage_round_trip(storage_client, bucket_name):
    blob = storage_client.bucket(bucket_name).blob("hello.txt")
    blob.upload_from_string(b"hi", content_type="text/plain")
    assert storage_client.bucket(bucket_name).blob("hello.txt").download_as_bytes() == b"hi"


def test_storage_create_only_upload_is_refused_the_second_time(storage_client, bucket_name):
    from google.api_core.exceptions import PreconditionFailed

    blob = storage_client.bucket(bucket_name).blob("once.txt")
    blob.upload_from_string(b"first", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        blob.upload_from_string(b"second", if_generation_match=0)
    assert blob.download_as_bytes() == b"first"


def test_pubsub_round_trip(pubsub_emulator):
    from google.cloud import pubsub_v1

    project = f"test-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(project, "smoke")
    sub = subscriber.subscription_path(project, "smoke-sub")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=sub, topic=topic)
    publisher.publish(topic, b"ping", kind="smoke").result(timeout=30)
    response = subscriber.pull(subscription=sub, max_messages=1, timeout=30)
    [received] = response.received_messages
    assert received.message.data == b"ping"
    assert received.message.attributes["kind"] == "smoke"
    subscriber.acknowledge(subscription=sub, ack_ids=[received.ack_id])
    publisher.transport.close() if hasattr(publisher, "transport") else None
    subscriber.close()


def test_rules_deny_client_access_but_not_the_service(firestore_emulator, firestore_client, firestore_project):
    """firestore.rules is loaded: an end-user (unauthenticated client) request is refused."""
    import json
    import urllib.error
    import urllib.request

    firestore_client.collection("invoices").document("x").set({"total": 1})  # the service (admin) writes
    url = (f"{firestore_emulator.url}/v1/projects/{firestore_project}/databases/(default)/documents/invoices/x")
    with pytest.raises(urllib.error.HTTPError) as err:  # no "Bearer owner": a client, under the rules
        urllib.request.urlopen(url)
    assert err.value.code == 403
    req = urllib.request.Request(url, headers={"Authorization": "Bearer owner"})
    assert json.loads(urllib.request.urlopen(req).read())["fields"]["total"] == {"integerValue": "1"}
