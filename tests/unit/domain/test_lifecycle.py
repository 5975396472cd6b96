"""The invoice lifecycle: draft -> issuing -> issued -> void, and every other transition refused."""

import pytest

from billing.domain.lifecycle import InvoiceStatus, transition
from billing.errors import ConflictError

S = InvoiceStatus
ALLOWED = {(S.DRAFT, S.ISSUING), (S.ISSUING, S.ISSUED), (S.ISSUED, S.VOID)}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_only_the_lifecycle_transitions_are_allowed(current, target):
    if (current, target) in ALLOWED:
        assert current.to(target, "invoice X") is target
    else:
        with pytest.raises(ConflictError, match=f"invoice X is '{current.value}' and cannot become"):
            current.to(target, "invoice X")


def test_the_status_is_read_from_the_stored_document():
    assert InvoiceStatus.of({"status": "issuing"}) is S.ISSUING
    assert InvoiceStatus.of({"status": "preview"}) is None and InvoiceStatus.of({}) is None
    assert [s.has_files for s in S] == [False, False, True, True]
    assert [s.numbered for s in S] == [False, True, True, True]


def test_a_document_without_a_known_status_cannot_move():
    assert transition({"status": "draft"}, S.ISSUING, "invoice X") is S.ISSUING
    with pytest.raises(ConflictError, match="has no known status"):
        transition({"status": "lost"}, S.ISSUING, "invoice X")
    with pytest.raises(ConflictError):
        transition({"status": "void"}, S.ISSUED, "invoice X")  # a void invoice is never issued again
