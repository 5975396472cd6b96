"""The WakeClaims port on Firestore: `billingRuns/{run}/sequencerWakes/{window}` (or another
subcollection of the run, e.g. `alerts/operator-email`), created once.

A create() on an existing document fails with ALREADY_EXISTS, so of all the workers drafting in
one window exactly one publishes the sequencer's wake. Any other failure claims (publishes): a
spare wake costs one short sequencer call, a missing one leaves drafts unnumbered.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from google.api_core import exceptions as gexc

from billing.adapters.sdk_errors import transient
from billing.config import Settings

log = logging.getLogger(__name__)

COLLECTION = "sequencerWakes"


class FirestoreWakeClaims:
    def __init__(self, db: Any, settings: Settings, collection: str = COLLECTION):
        self._runs = db.collection(settings.runs_collection)
        self._collection = collection

    def _ref(self, run_id: str, key: str) -> Any:
        return self._runs.document(run_id).collection(self._collection).document(key)

    def claim(self, run_id: str, key: str) -> bool:
        try:
            self._ref(run_id, key).create({"at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
            return True
        except (gexc.AlreadyExists, gexc.Conflict):
            return False
        except Exception as exc:  # noqa: BLE001 - unsure: wake anyway (see the module docstring)
            log.warning(f"could not claim the sequencer wake {run_id}/{key}; waking anyway: {exc}")
            return True

    def release(self, run_id: str, key: str) -> None:
        with transient("Firestore, releasing the sequencer wake"):
            self._ref(run_id, key).delete()
