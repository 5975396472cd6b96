"""GSTR-1 over HTTP and the CLI: the month's invoices and credit notes in the portal's layout, to the paisa."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def paise(value: float) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def test_gstr1_of_the_demo_month_reconciles_with_the_documents(api, tmp_path):
    seed_demo(api.db, Settings(project=api.project))
    invoices = {}
    for company in ("vysedeck", "webxpress", "dcgpac"):
        status, inv = api.json("POST", f"/billing/generate/{company}?month=9&year=2025")
        assert status == 200, inv
        invoices[company] = inv
    # Void vysedeck's invoice with a reissue: the original stays reported, its credit note is a CDNR.
    req = {"invoiceNumber": invoices["vysedeck"]["invoiceNumber"], "reason": "wrong rate", "reissue": True}
    status, voided = _post(api, "/billing/invoices/vysedeck/2025-09/void", req)
    assert status == 200, voided
    month = invoices["vysedeck"]["invoiceDate"][:7]
    status, gstr1 = api.json("GET", f"/billing/gst/gstr1/{month}")
    assert status == 200, gstr1
    supplier = api.db.document("settings/billing").get().to_dict()
    assert gstr1["gstin"] == supplier["gstin"] and gstr1["fp"] == month[5:] + month[:4]

    # Registered recipients: vysedeck (twice: original + reissue) and webxpress in b2b; dcgpac in b2cs.
    b2b = {c["ctin"]: [i["inum"] for i in c["inv"]] for c in gstr1["b2b"]}
    docs = [d.to_dict() for d in api.db.collection("invoices").stream()]
    numbered = [d for d in docs if d.get("invoiceNumber")]
    assert sum(len(v) for v in b2b.values()) == len([d for d in numbered if d["recipient"].get("gstin")])
    assert len(gstr1["cdnr"]) == 1 and gstr1["cdnr"][0]["nt"][0]["val"] == invoices["vysedeck"]["totalAmount"]
    [b2cs] = gstr1["b2cs"]
    assert (b2cs["sply_ty"], b2cs["pos"]) == ("INTRA", "29")
    assert paise(b2cs["txval"]) == paise(invoices["dcgpac"]["subtotal"])

    # Every section adds up to the documents' paise, less the credit note.
    notes = [d.to_dict() for d in api.db.collection("creditNotes").stream()]
    taxable = sum(d["amountsPaise"]["subtotal"] for d in numbered) - sum(n["amountsPaise"]["subtotal"] for n in notes)
    sections = (sum(paise(i["itms"][0]["itm_det"]["txval"]) for c in gstr1["b2b"] for i in c["inv"])
                + sum(paise(r["txval"]) for r in gstr1["b2cs"])
                - sum(paise(n["itms"][0]["itm_det"]["txval"]) for c in gstr1["cdnr"] for n in c["nt"]))
    hsn = sum(paise(r["txval"]) for part in gstr1["hsn"].values() for r in part)
    assert sections == hsn == taxable
    kinds = {d["doc_num"]: sum(r["totnum"] for r in d["docs"]) for d in gstr1["doc_issue"]["doc_det"]}
    assert kinds == {1: len(numbered), 5: len(notes)}

    # The CLI prints the same return.
    out = tmp_path / "gstr1.json"
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": api.project, "BILLING_BUCKET": api.bucket}
    cli = [str(Path(sys.executable).parent / "billing"), "gstr1", "--month", month[5:], "--year", month[:4],
           "--out", str(out)]
    subprocess.run(cli, env=env, check=True, capture_output=True, timeout=120)
    assert json.loads(out.read_text()) == gstr1


def _post(api, path, payload):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(api.base + path, method="POST", data=json.dumps(payload).encode(),
                                 headers={"X-API-Key": api.key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
