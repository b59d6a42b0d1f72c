"""The replay suite runs on the fixtures of the end-to-end Telegram tests (offline Bot API server, real channel)."""

from tests.bot.conftest import api, bus, make_channel  # noqa: F401 - fixtures, used by name
