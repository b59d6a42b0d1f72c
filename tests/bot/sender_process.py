"""Run only the outbox sender, as its own process, so a test can SIGKILL it mid-delivery.

python -m tests.bot.sender_process DATABASE_URL API_BASE TOKEN [--lease SECONDS] [--in-flight N]
    [--unconfirmed N] [--schema NAME] [--telegram-limits]

--schema: a PostgreSQL schema to put first on the search path (the tests' throw-away schemas);
--telegram-limits: pace sends as in production (bot.limits.SendLimiter defaults) instead of not at all.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.channel import create_bot
from bot.limits import SendLimiter
from bot.sender import OutboxSender
from storage.db import create_engine, session_factory
from tests.workplace import workplace_for


async def main(args: argparse.Namespace) -> None:
    options = {"connect_args": {"server_settings": {"search_path": args.schema}}} if args.schema else {}
    engine = create_engine(args.database_url, **options)
    bot = create_bot(args.token, args.api_base)
    limiter = SendLimiter() if args.telegram_limits else SendLimiter(global_rate=None, per_chat_seconds=0.0,
                                                                      group_per_minute=0)
    sender = OutboxSender(bot, workplace_for(session_factory(engine)), limiter,
                          lease_seconds=args.lease, max_in_flight=args.in_flight, poll_interval=0.05,
                          max_unconfirmed=args.unconfirmed, request_timeout=600)
    print("sender ready", flush=True)
    await sender.run()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("api_base")
    parser.add_argument("token")
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--unconfirmed", type=int, default=4)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--telegram-limits", action="store_true")
    return parser.parse_args(argv)


def forked_main(argv: list[str]) -> None:
    """Entry point for a child forked from a test (no second import of aiogram, which is slow)."""
    asyncio.events._set_running_loop(None)  # the parent's loop was running in the thread we were forked from
    asyncio.run(main(parse(argv)))


if __name__ == "__main__":
    asyncio.run(main(parse()))
