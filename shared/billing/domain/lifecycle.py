"""An invoice's (and a credit note's) lifecycle: draft -> issuing -> issued -> void, nothing else.

The stored documents carry the status as its string value; `InvoiceStatus.of(doc)` reads it back.
Every change of status goes through `to()`, which refuses a transition the lifecycle does not
allow. A credit note is created "issuing" (its number comes with the void) and becomes "issued".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Mapping

from billing.errors import ConflictError


class InvoiceStatus(StrEnum):
    DRAFT = "draft"  # rated, every amount, no number yet
    ISSUING = "issuing"  # numbered and dated; its files are being stored
    ISSUED = "issued"  # complete: files stored, may be emailed and downloaded
    VOID = "void"  # cancelled by a credit note; its files stay

    @classmethod
    def of(cls, doc: Mapping[str, object]) -> "InvoiceStatus | None":
        """The document's status (None when it has none this lifecycle knows)."""
        try:
            return cls(str(doc.get("status")))
        except ValueError:
            return None

    @property
    def has_files(self) -> bool:
        """Its PDF and CSV are stored (issued, or void: voiding keeps the files)."""
        return self in (InvoiceStatus.ISSUED, InvoiceStatus.VOID)

    @property
    def numbered(self) -> bool:
        return self is not InvoiceStatus.DRAFT

    def allows(self, target: "InvoiceStatus") -> bool:
        return target in _NEXT[self]

    def to(self, target: "InvoiceStatus", what: str) -> "InvoiceStatus":
        """`target`, when the lifecycle allows it from here; ConflictError naming `what` otherwise."""
        if not self.allows(target):
            raise ConflictError(f"{what} is {self.value!r} and cannot become {target.value!r}")
        return target


_NEXT: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.ISSUING}),
    InvoiceStatus.ISSUING: frozenset({InvoiceStatus.ISSUED}),
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.VOID}),
    InvoiceStatus.VOID: frozenset(),
}

# The states of a numbered document (it has its number and date): what returns and ledgers count.
NUMBERED: frozenset[InvoiceStatus] = frozenset({InvoiceStatus.ISSUING, InvoiceStatus.ISSUED, InvoiceStatus.VOID})

# Not a lifecycle state: what a preview (an invoice as it would be issued now) shows as its status.
PREVIEW = "preview"


def transition(doc: Mapping[str, object], target: InvoiceStatus, what: str) -> InvoiceStatus:
    """The document's next status, checked against the lifecycle (ConflictError when refused)."""
    current = InvoiceStatus.of(doc)
    if current is None:
        raise ConflictError(f"{what} has no known status ({doc.get('status')!r})")
    return current.to(target, what)
