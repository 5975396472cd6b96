"""One sequencer wake per short window, however many companies draft (DESIGN 6, 17).

Every drafted company used to publish a wake to a function that runs one instance at a time: a
10,000-company run pushed ~10,000 messages at it, most refused (429) and retried. Now a worker
publishes only when it creates the window's claim (`WINDOW_SECONDS` wide); the others see the
claim and rely on that wake. The sequencer numbers until no draft waits, then releases the
current window's claim and looks once more: a draft made before the release is seen by that look,
a draft made after it claims afresh and wakes the sequencer again. A claim never released (the
sequencer stopped) lapses with its window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from billing.ports import Publisher, WakeClaims
from billing.services.runs.messages import SequencerWake

WINDOW_SECONDS = 60


class WakeWindow:
    def __init__(self, claims: WakeClaims, publisher: Callable[[], Publisher], topic: str,
                 clock: Callable[[], datetime], window_seconds: int = WINDOW_SECONDS):
        self._claims = claims
        self._publisher = publisher
        self._topic = topic
        self._clock = clock
        self._window = window_seconds

    def key(self) -> str:
        return f"w{int(self._clock().timestamp()) // self._window}"

    def wake(self, run_id: str) -> bool:
        """Publish the sequencer's wake unless this window's is already out; True when published."""
        key = self.key()
        if not self._claims.claim(run_id, key):
            return False
        try:
            self._publisher().publish(self._topic, SequencerWake(run_id))
        except BaseException:
            self._claims.release(run_id, key)  # nobody was woken: the retry must be able to claim
            raise
        return True

    def release(self, run_id: str | None) -> None:
        """The sequencer found no waiting draft: the next draft may wake it again."""
        if run_id:
            self._claims.release(run_id, self.key())
