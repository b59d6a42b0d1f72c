"""Units of work in tests: the settings tests run with, and a Workplace over a test database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import NOTICES
from storage.events import EventBus
from storage.gate import WriteGate
from storage.settings import Settings, load_settings
from storage.unit_of_work import Workplace

# What every test gets unless it builds its own (defaults: Asia/Shanghai, quiet hours 21:00-08:00...).
SETTINGS = load_settings()


def workplace_for(sessions: async_sessionmaker[AsyncSession], bus: EventBus | None = None,
                  settings: Settings = SETTINGS) -> Workplace:
    return Workplace(WriteGate(sessions), bus or EventBus(), settings, NOTICES)
