"""The HTTP API in-process: BillingApi in a bare Flask app, driven by Flask's test client."""

from __future__ import annotations

import flask
from flask.testing import FlaskClient

from billing.bootstrap import Container
from billing.entrypoints.http import BillingApi

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def client_for(container: Container) -> FlaskClient:
    """A test client whose every request reaches BillingApi over `container` (as billing_http does)."""
    api = BillingApi(lambda: container)
    app = flask.Flask("billing_inprocess")

    def view(path: str = "") -> flask.typing.ResponseReturnValue:
        return api(flask.request)

    app.add_url_rule("/", "root", view, methods=METHODS)
    app.add_url_rule("/<path:path>", "any", view, methods=METHODS)
    return app.test_client()
