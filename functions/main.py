"""Cloud Functions entry points: decode the request or event, call a service, map errors."""

from __future__ import annotations

import os

import functions_framework

from billing.bootstrap import get_container
from billing.config import Settings
from billing.logs import setup_logging
from billing.entrypoints.http import BillingApi, framework_error
from werkzeug.exceptions import HTTPException

setup_logging()
if os.environ.get("FUNCTION_TARGET", "billing_http") == "billing_http":
    # DESIGN 10: the HTTP function refuses to start with settings that would leak or break links.
    Settings.from_env().check_serving()
_api = BillingApi(get_container)
# What functions-framework answers before BillingApi runs (an unroutable path, /favicon.ico) is JSON too.
functions_framework.errorhandler(HTTPException)(framework_error)


@functions_framework.http
def billing_http(request):
    """The HTTP API (DESIGN.md section 5)."""
    return _api(request)


@functions_framework.cloud_event
def billing_monthly_trigger(cloud_event):
    """Cloud Scheduler -> Pub/Sub: decide the period and fan out one message per active company."""
    from billing.entrypoints.events import handle_monthly_trigger

    handle_monthly_trigger(cloud_event, get_container())


@functions_framework.cloud_event
def billing_company_worker(cloud_event):
    """One company's invoice for the period named in the message (idempotent)."""
    from billing.entrypoints.events import handle_company_message

    handle_company_message(cloud_event, get_container())


@functions_framework.cloud_event
def billing_dead_letter(cloud_event):
    """Dead-letter topic -> the company's run record says why its message was given up on."""
    from billing.entrypoints.events import handle_dead_letter

    handle_dead_letter(cloud_event, get_container())


@functions_framework.cloud_event
def billing_sequencer(cloud_event):
    """Number waiting draft invoices in batches; deployed with max instances 1 (the single writer)."""
    from billing.entrypoints.events import handle_sequencer_message

    handle_sequencer_message(cloud_event, get_container())


@functions_framework.cloud_event
def billing_reminders(cloud_event):
    """The daily Scheduler job -> payment reminders, each step at most once per invoice (DESIGN 14)."""
    from billing.entrypoints.events import handle_reminders

    handle_reminders(cloud_event, get_container())
