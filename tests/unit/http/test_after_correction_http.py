"""Documents after a correction over HTTP (in process, fakes): the CANCELLED copy served for a void
invoice, `replaces` on a reissue, the credit note's send route, a void repeated differently, a void
invoice's send refused; every refusal writes nothing."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from e2e_support import READ_KEY
from inprocess import InProcessApi

MONTH = "/billing/invoices/vysedeck/2025-09"
CN_SEND = "/billing/credit-notes/vysedeck/vysedeck_2025-09_cn/send"


class ListMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return f"<m{len(self.sent)}@test>"


@pytest.fixture()
def api():
    api = InProcessApi()
    api.mailer = ListMailer()
    # as an SMTP configuration would give: the mailer, no reason it is missing, the sender, no reply-to
    api.container.override("_smtp", (api.mailer, "", "billing@voxa.example", None))
    status, first = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, first
    api.first = first
    fy = first["invoiceNumber"].split("/")[1]  # the real clock's financial year
    api.inv1, api.inv2, api.cn1 = first["invoiceNumber"], f"VX/{fy}/00002", f"CN/{fy}/00001"
    return api


def void(api, reissue, reason="Rate was wrong"):
    return api.post_json(f"{MONTH}/void", {"invoiceNumber": api.first["invoiceNumber"], "reason": reason,
                                           "reissue": reissue})


def test_a_void_invoice_downloads_as_its_cancelled_copy(api):
    original = api.container.blobs.read("invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf")
    assert void(api, reissue=False)[0] == 200
    status, body, headers = api.request("GET", f"{MONTH}/pdf")
    assert status == 200 and body == original + f" CANCELLED by {api.cn1}".encode()
    assert headers["Content-Disposition"] == (
        f'attachment; filename="{api.inv1.replace("/", "-")}_vysedeck_2025-09_invoice_cancelled.pdf"')
    assert api.container.blobs.read("invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf") == original
    # Once reissued, the month's PDF is the reissue's own.
    assert api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")[0] == 200
    assert api.request("GET", f"{MONTH}/pdf")[1].startswith(f"PDF {api.inv2}".encode())


def test_a_reissue_says_what_it_replaces(api):
    status, out = void(api, reissue=True)
    assert status == 200, out
    expected = {"invoiceNumber": api.inv1, "creditNoteNumber": api.cn1}
    assert out["reissued"]["replaces"] == expected and "replaces" not in out["voided"]
    assert api.json("GET", MONTH)[1]["replaces"] == expected
    # A reissue stored before `replaces` was an object carried the void invoice's id: shown the same way.
    api.container.invoices.docs["vysedeck_2025-09_r1"]["replaces"] = "vysedeck_2025-09"
    assert api.json("GET", MONTH)[1]["replaces"] == expected


def test_a_void_repeated_with_other_parameters_is_409_and_writes_nothing(api):
    assert void(api, reissue=True)[0] == 200
    before = api.snapshot()
    assert void(api, reissue=True)[0] == 200  # the same request again: its answer
    status, body = void(api, reissue=False)
    assert status == 409 and "already voided" in body["detail"] and "a reissue (vysedeck_2025-09_r1)" in body["detail"]
    status, body = void(api, reissue=True, reason="Another reason")
    assert status == 409 and "this request asks for reason 'Another reason'" in body["detail"]
    assert api.snapshot() == before


def test_sending_a_void_invoice_is_409_naming_what_to_send(api):
    assert void(api, reissue=False)[0] == 200
    before = api.snapshot()
    status, body = api.json("POST", f"{MONTH}/send")
    assert status == 409 and "is void" in body["detail"] and CN_SEND in body["detail"]
    assert api.snapshot() == before and api.mailer.sent == []


def test_the_credit_note_send_route(api):
    assert void(api, reissue=False)[0] == 200
    before = api.snapshot()
    status, body = api.json("POST", CN_SEND, key=READ_KEY)
    assert status == 403 and "admin key" in body["detail"]
    for payload, says in [({"to": ["nope"]}, "plain email addresses"), (b"{not json", "must be JSON"),
                          ({"to": [f"a{i}@x.example" for i in range(11)]}, "at most 10")]:
        status, body = api.post_json(CN_SEND, payload)
        assert status == 422 and says in body["detail"], (payload, body)
    status, body = api.json("POST", "/billing/credit-notes/vysedeck/vysedeck_2025-08_cn/send")
    assert status == 404
    assert api.snapshot() == before and api.mailer.sent == []

    status, body = api.json("POST", CN_SEND)
    assert status == 200 and body["status"] == "sent" and body["to"] == "accounts@vysedeck.example", body
    status, body = api.post_json(CN_SEND, {"to": ["ca@vysedeck.example"]})
    assert status == 200 and body["to"] == "ca@vysedeck.example"
    [first, second] = api.mailer.sent
    assert first["To"] == "accounts@vysedeck.example" and second["To"] == "ca@vysedeck.example"
    assert first["Subject"].startswith(f"Credit note {api.cn1} ")
    assert [p.get_filename() for p in first.iter_attachments()] == [
        f"{api.cn1.replace('/', '-')}_vysedeck_2025-09_credit-note.pdf"]
    delivery = api.json("GET", "/billing/credit-notes/vysedeck/vysedeck_2025-09_cn")[1]["delivery"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 2 and "claim" not in delivery


def test_the_credit_note_send_route_without_smtp_is_409_writing_nothing():
    api = InProcessApi()
    _, first = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    api.post_json(f"{MONTH}/void", {"invoiceNumber": first["invoiceNumber"], "reason": "x", "reissue": False})
    before = api.snapshot()
    status, body = api.json("POST", CN_SEND)
    assert status == 409 and "email is not configured" in body["detail"]
    assert api.snapshot() == before
