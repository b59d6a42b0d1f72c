"""An injectable clock, so time-based rules are tested with a frozen or stepped clock, never wall time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at


_clock: Clock = Clock()


def now() -> datetime:
    """Current time, aware, UTC. Every rule in storage/ asks this, not datetime.now()."""
    return _clock.now()


def use_clock(clock: Clock) -> Clock:
    """Swap the process clock; returns the previous one so tests can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous
