"""Offline Telegram Bot API server for Homedesk's tests and benchmarks.

    async with BotApiServer(token=TOKEN) as server:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
        alice = server.customer(first_name="Alice", language_code="en")
        alice.send_command("/start")
        reply = await alice.wait_for("Welcome")
"""

from .customer import Customer
from .files import tiny_png
from .html_text import EntityParseError, parse_html
from .limits import RateLimiter, RateLimits
from .server import ApiCall, ApiError, BotApiServer, ChatState

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiServer",
    "ChatState",
    "Customer",
    "EntityParseError",
    "RateLimiter",
    "RateLimits",
    "parse_html",
    "tiny_png",
]
