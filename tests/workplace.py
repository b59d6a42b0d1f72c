"""Units of work in tests: the settings tests run with, a Workplace over a test database, and a Work around a
session a test already holds."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import NOTICES
from storage.events import EventBus
from storage.gate import WriteGate
from storage.settings import Settings, load_settings
from storage.unit_of_work import Actor, Work, Workplace

# What every test gets unless it builds its own (defaults: Asia/Shanghai, quiet hours 21:00-08:00...).
SETTINGS = load_settings()


def workplace_for(sessions: async_sessionmaker[AsyncSession], bus: EventBus | None = None,
                  settings: Settings = SETTINGS) -> Workplace:
    """What a process builds at start-up, on the test's database."""
    return Workplace(WriteGate(sessions), bus or EventBus(), settings, NOTICES)


def work_on(session: AsyncSession, actor: Actor | None = None, *, settings: Settings = SETTINGS) -> Work:
    """A Work around a session the test already holds: the test's transaction commits it, and the events it
    collects are only published if the test does so."""
    return Work(session=session, settings=settings, texts=NOTICES, actor=actor or Actor.system())


def staff_work(session: AsyncSession, staff_id: int) -> Work:
    return work_on(session, Actor.staff(staff_id))
