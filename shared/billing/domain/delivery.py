"""An invoice's or a note's email delivery record (`delivery` on its document), typed.

`Delivery` is what a sender needs to know of the record (its status and how many attempts it
took); the changes a sender records are `DeliverySkipped`, `DeliverySent` and `DeliveryFailed`.
The stored shape (the `delivery.*` fields) is the adapters' (`adapters/note_document.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Union


class DeliveryStatus(StrEnum):
    NOT_SENT = "not-sent"
    SENDING = "sending"  # claimed by one sender (see services/delivery.py)
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Delivery:
    """The delivery record as read: its status (None when absent or unknown) and the attempts so far."""

    status: DeliveryStatus | None = None
    attempts: int = 0


@dataclass(frozen=True)
class DeliverySkipped:
    """Not sent, for a reason a person must fix (no billingEmail, no SMTP)."""

    reason: str


@dataclass(frozen=True)
class DeliverySent:
    attempts: int
    message_id: str
    to: str  # the recipients, comma-separated
    sent_at: datetime


@dataclass(frozen=True)
class DeliveryFailed:
    attempts: int
    last_error: str
    permanent: bool  # a bad address or template will not fix itself on retry
    updated_at: datetime


DeliveryChange = Union[DeliverySkipped, DeliverySent, DeliveryFailed]
"""What one sender records on the document's delivery (its claim released)."""
