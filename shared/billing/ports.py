"""The service layer's view of the outside world: small Protocols the adapters and fakes implement."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord


class CompanyRepository(Protocol):
    def get(self, company_id: str) -> Mapping[str, Any] | None:
        """The company document, or None."""

    def list_active(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(companyId, document) of every company whose `active` is not false."""


class SettingsRepository(Protocol):
    def supplier(self) -> Mapping[str, Any] | None:
        """The supplier settings document (settings/billing), or None."""


class CallLogSource(Protocol):
    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        """The company's calls that started in [period.start, period.end), ordered by start."""


class InvoiceRepository(Protocol):
    def get(self, invoice_id: str) -> dict | None:
        """The invoice document, or None."""

    def create_numbered(
        self, invoice_id: str, counter_id: str, build: Callable[[int], dict]
    ) -> tuple[dict, bool]:
        """Atomically: return the existing invoice, or take the counter's next number, create it.

        Returns (document, created)."""

    def update(self, invoice_id: str, fields: Mapping[str, Any]) -> None:
        """Merge fields into an existing invoice."""

    def list_for_company(self, company_id: str, year: int | None = None) -> list[dict]:
        """The company's invoices, newest period first."""


class BlobStore(Protocol):
    def writer(self, path: str, content_type: str, filename: str) -> AbstractContextManager[BinaryIO]:
        """A streaming writer to a new object (used for staging objects with unique names)."""

    def promote(self, staging_path: str, final_path: str) -> None:
        """Copy a staged object to its final name unless the final one exists (create-only)."""

    def put_create_only(self, path: str, data: bytes, content_type: str, filename: str) -> bool:
        """Upload unless the object exists; False when it already existed (never overwrites)."""

    def exists(self, path: str) -> bool: ...

    def size(self, path: str) -> int | None:
        """Size in bytes, None when absent."""

    def read(self, path: str) -> bytes: ...

    def open_read(self, path: str) -> Iterable[bytes]:
        """The object's bytes in chunks (for streaming downloads)."""

    def delete(self, path: str) -> None: ...

    def signed_url(self, path: str, filename: str) -> str | None:
        """A V4 signed download URL, or None where signing is unavailable."""

    def uri(self, path: str) -> str:
        """gs://bucket/path."""


class RunRepository(Protocol):
    """billingRuns/{YYYY-MM} (a small summary) and billingRuns/{YYYY-MM}/companies/{id} (one per company)."""

    def record_trigger(self, run_id: str, period_key: str, trigger: str) -> dict[str, Any]:
        """Create the summary if needed, append the trigger (capped); returns the summary."""

    def summary(self, run_id: str) -> dict[str, Any] | None:
        """The summary document, or None."""

    def save_fanout(self, run_id: str, fanout: Mapping[str, Any]) -> None:
        """Replace the summary's fan-out progress (id, cursor, counts, finished)."""

    def states(self, run_id: str) -> dict[str, dict[str, Any]]:
        """companyId -> {state, at} for every company recorded on the run."""

    def set_states(self, run_id: str, entries: Mapping[str, Mapping[str, Any]]) -> None:
        """Write many companies' states at once (batched); fields not given are removed."""

    def mark(self, run_id: str, company_id: str, state: str, *, unless_done: bool = False,
             **details: Any) -> bool:
        """Record one company's state (attempts counted); False when unless_done found it done."""

    def company(self, run_id: str, company_id: str) -> dict[str, Any] | None:
        """One company's record, or None."""

    def counts(self, run_id: str, states: Iterable[str]) -> dict[str, int]:
        """How many companies are in each state (aggregation queries, no document reads)."""

    def in_state(self, run_id: str, state: str, page_size: int,
                 after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the companies in a state, by id after `after`; and the next page's token."""


class Publisher(Protocol):
    def publish(self, topic: str, payload: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
        """Publish a JSON message; returns the message id once the broker has it."""

    def publish_many(
        self, topic: str, messages: Sequence[tuple[Mapping[str, Any], Mapping[str, str]]]
    ) -> Callable[[], int]:
        """Start publishing every message (batched, asynchronously); the returned wait() blocks
        until the broker has them all and returns how many, or raises TransientError."""


class Mailer(Protocol):
    def send(self, message) -> str:
        """Send an email.message.EmailMessage; returns its Message-ID."""
