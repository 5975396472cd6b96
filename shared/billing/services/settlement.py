"""settle: reconcile an issued invoice, then one note for the call-charge difference (DESIGN 13).

  1. the reconcile (the month's calls now vs the invoice's CSV, every differing call kept);
  2. the key of this settle (the invoice and its calls' state): a note already made with it is
     returned as it is (a retried settle);
  3. the outstanding difference (less earlier settle notes): none -> nothing is written;
  4. the note through AdjustmentService (same transaction, series, cap and crash-safety), with its
     CSV of the calls added, removed and changed stored create-only before its PDF.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from billing.domain import adjustments as adj
from billing.domain import settlement
from billing.domain.entities import Note
from billing.domain.naming import FILE_KINDS
from billing.domain.presenter import paise_to_rupees
from billing.errors import ValidationError
from billing.ports import BlobStore
from billing.services.adjustments import AdjustmentService, BeforeFinish
from billing.services.reconcile import ReconcileService

log = logging.getLogger(__name__)
MAX_SETTLE_CALLS = 200_000  # differing calls one settle lists in its CSV
SettleAnswer = dict[str, Any]
"""The settle's answer (and the reconcile summary in it): the JSON the OpenAPI document defines for
POST .../settle, the note as stored."""


class SettlementService:
    def __init__(self, *, adjustments: AdjustmentService, reconcile: ReconcileService, blobs: BlobStore):
        self.adjustments = adjustments
        self.reconciler = reconcile
        self.blobs = blobs

    def settle(self, company_id: str, period_key: str, body: object) -> SettleAnswer:
        """{"settled": bool, "kind", "note", "reconcile"} (note None when there is nothing to settle)."""
        if not isinstance(body, Mapping) or set(body) != {"invoiceNumber"} or not isinstance(
                body.get("invoiceNumber"), str) or not body["invoiceNumber"].strip():
            raise ValidationError('the body must be {"invoiceNumber": "<the invoice to settle>"}')
        number = body["invoiceNumber"].strip()
        invoice = self.adjustments.target(company_id, period_key, number)
        adj.check_adjustable(invoice, adj.DEBIT)
        result = self.reconciler.reconcile_invoice(invoice, MAX_SETTLE_CALLS).to_json()
        summary = {k: v for k, v in result.items() if k != "examples"}
        key = settlement.settle_key(invoice.invoice_id, result)
        for kind in (adj.DEBIT, adj.CREDIT):
            existing = self.adjustments.repo(kind).find(adj.note_id(invoice.invoice_id, kind, adj.key_token(key)))
            if existing is not None:  # a retried settle: its note, finished
                self._store_csv(result)(existing)
                return self._answer(self.adjustments.finish(existing), summary)
        outstanding = settlement.outstanding_paise(invoice, result)
        if outstanding == 0:
            detail = (f"nothing to settle: the calls of {period_key} now come to the call charges invoice {number} "
                      "billed" + (" and its earlier settle notes covered"
                                  if settlement.settled_paise(invoice) else ""))
            return {"settled": False, "detail": detail, "kind": None, "note": None, "reconcile": summary}
        kind = adj.DEBIT if outstanding > 0 else adj.CREDIT
        note = self.adjustments.issue(kind.name, company_id, period_key,
                                      settlement.settle_body(number, result, outstanding), key,
                                      settlement=settlement.settlement_figures(result),
                                      before_finish=self._store_csv(result))
        log.info("invoice settled", extra={"json_fields": {
            "invoiceId": invoice.invoice_id, "kind": kind.name, "amount": paise_to_rupees(outstanding)}})
        return self._answer(note, summary)

    @staticmethod
    def _answer(note: Note, summary: SettleAnswer) -> SettleAnswer:
        return {"settled": True, "detail": f"{note.kind} note {note.number or ''} for the call-charge difference",
                "kind": note.kind, "note": dict(note.document), "reconcile": summary}

    def _store_csv(self, result: Mapping[str, Any]) -> BeforeFinish:
        def store(note: Note) -> None:
            name = note.download_name.replace(".pdf", "_calls.csv")
            self.blobs.put_create_only(note.csv_path, settlement.calls_csv(result["examples"]), FILE_KINDS["csv"], name)
        return store
