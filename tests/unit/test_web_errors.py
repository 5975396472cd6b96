"""The HTTP edge maps failures: unavailable dependencies -> 503, anything else -> the old 500 text."""

import flask
import pytest
from google.api_core import exceptions as gexc

from billing.config import Settings
from billing.entrypoints.http import UNEXPECTED, BillingApi


class Boom:
    def __init__(self, exc):
        self.exc = exc

    def generate(self, *args, **kwargs):
        raise self.exc


class FakeContainer:
    def __init__(self, exc):
        self.settings = Settings(admin_keys=("k",))
        self.issuance = Boom(exc)


@pytest.mark.parametrize("exc, status, detail", [
    (gexc.ServiceUnavailable("firestore down"), 503, "A dependency is unavailable; retry later."),
    (TimeoutError("read timed out"), 503, "A dependency is unavailable; retry later."),
    (KeyError("surprise"), 500, UNEXPECTED),
])
def test_unexpected_failures(exc, status, detail, caplog):
    api = BillingApi(lambda: FakeContainer(exc))
    app = flask.Flask(__name__)
    with app.test_request_context("/billing/generate/acme?month=9&year=2025", method="POST",
                                  headers={"X-API-Key": "k"}):
        response = api(flask.request)
    assert response.status_code == status
    assert response.get_json() == {"detail": detail}
    assert "surprise" not in response.get_data(as_text=True)
