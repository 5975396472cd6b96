"""A run that needs a person emails BILLING_OPERATOR_EMAIL once, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from cloudevents.http import CloudEvent

import emulators
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.runs import RunChange, RunState
from billing.entrypoints.events import handle_monthly_trigger, handle_sequencer_message
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

OPERATOR = "ops@voxa.example"
RUN = "2025-09"


class Inbox:
    def __init__(self):
        self.messages = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted"


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=emulators.free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def container(inbox_port: int, clock=None) -> Container:
    settings = Settings(project=f"alert-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}",
                        operator_email=OPERATOR)
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(inbox_port), "SMTP_SECURITY": "none",
           "SMTP_FROM": "billing@voxa.example", "FIRESTORE_EMULATOR_HOST": __import__("os").environ[
               "FIRESTORE_EMULATOR_HOST"]}
    c = Container(settings, env=env, **({"clock": clock} if clock else {}))
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    return c


def event(payload: dict) -> CloudEvent:
    data = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "messageId": "m"}}
    return CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub/x",
                       "id": uuid.uuid4().hex, "time": datetime.now(timezone.utc).isoformat()}, data)


def test_a_run_with_configuration_failures_emails_the_operator_once(firestore_emulator, storage_emulator,
                                                                     pubsub_emulator, inbox):
    box, port = inbox
    c = container(port)  # no worker topic: every company fails with a Configuration error
    for _ in range(3):  # three hourly firings, and the sequencer, check the run again
        handle_monthly_trigger(event({"month": 9, "year": 2025}), c)
    handle_sequencer_message(event({"runId": RUN}), c)
    assert len(box.messages) == 1
    recipients, message = box.messages[0]
    assert recipients == [OPERATOR]
    failed = c.run_status.status(RUN)["counts"]["failed"]
    assert message["Subject"] == f"Billing run {RUN} needs attention: {failed} companies failed"
    body = message.get_content()
    assert f"failed {failed}" in body and "[Configuration]" in body and "billing-company-invoice" in body


def test_a_refused_alert_is_sent_by_a_later_check(firestore_emulator, storage_emulator, pubsub_emulator, inbox):
    box, port = inbox
    c = container(port)
    box.refuse = True
    handle_monthly_trigger(event({"month": 9, "year": 2025}), c)
    assert box.messages == []
    box.refuse = False
    handle_monthly_trigger(event({"month": 9, "year": 2025}), c)
    handle_monthly_trigger(event({"month": 9, "year": 2025}), c)
    assert len(box.messages) == 1


def test_an_unfinished_run_alerts_after_24_hours_and_a_healthy_one_never(firestore_emulator, storage_emulator,
                                                                           pubsub_emulator, inbox):
    box, port = inbox
    now = [datetime.now(timezone.utc)]
    c = container(port, clock=lambda: now[0])
    c.runs.record_trigger(RUN, RUN, "scheduler")
    c.runs.set_states(RUN, {"vysedeck": RunChange(RunState.DRAFTED), "webxpress": RunChange(RunState.DONE)})
    assert not c.run_alerts.check(RUN)  # drafted, but the run started a moment ago
    now[0] += timedelta(hours=25)
    assert c.run_alerts.check(RUN) and not c.run_alerts.check(RUN)
    assert "1 company unfinished 24 h after the run started" in box.messages[0][1]["Subject"]
