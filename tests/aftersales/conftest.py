"""The console fixtures (app client, staff of every role) for the board and report tests."""

from tests.staff_console.conftest import bus, cheap_password_hashing, client, make_client, team  # noqa: F401
