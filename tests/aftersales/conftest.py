"""Fixtures borrowed from the console tests (app client, staff of every role) and the Telegram channel tests
(offline Bot API server, real aiogram channel)."""

from tests.bot.conftest import api, make_channel  # noqa: F401
from tests.staff_console.conftest import bus, cheap_password_hashing, client, make_client, team  # noqa: F401
