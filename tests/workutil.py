"""Units of work for tests that drive storage services directly."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import NOTICES
from storage.events import EventBus
from storage.gate import WriteGate
from storage.settings import Settings
from storage.unit_of_work import Actor, Work, Workplace


def work_on(session: AsyncSession, actor: Actor | None = None, *, settings: Settings | None = None) -> Work:
    """A Work around a session the test already holds: the test's transaction commits it, and the events it
    collects are only published if the test does so."""
    return Work(session=session, settings=settings or Settings(), texts=NOTICES, actor=actor or Actor.system())


def staff_work(session: AsyncSession, staff_id: int) -> Work:
    return work_on(session, Actor.staff(staff_id))


def workplace(sessions: async_sessionmaker[AsyncSession], bus: EventBus | None = None, *,
              settings: Settings | None = None) -> Workplace:
    """What a process builds at start-up, on the test's database."""
    return Workplace(WriteGate(sessions), bus or EventBus(), settings or Settings(), NOTICES)
