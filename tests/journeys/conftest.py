"""End-to-end journeys reuse the Telegram channel fixtures of tests/bot (real aiogram over the offline server)."""

from tests.bot.conftest import api, bus, make_channel  # noqa: F401 - pytest fixtures, re-exported
