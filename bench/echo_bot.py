"""A bare aiogram echo bot as its own process: the same-run baseline of `bench/pipeline.py`'s memory step.

    python bench/echo_bot.py --api http://127.0.0.1:PORT --token 123:ABC

Polls the given (offline) Bot API server and answers every message with its own text, nothing more: what any
aiogram bot costs in resident memory (the interpreter, aiohttp, aiogram and its pydantic models). Prints "ready"
once polling has started, then runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


def echo_bot(api: str, token: str) -> tuple[Bot, Dispatcher]:
    """The bare echo (also `bench/pipeline.py`'s throughput baseline): a Bot on `api` and a Dispatcher that
    answers every message with its own text."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return bot, dispatcher


async def serve(api: str, token: str) -> None:
    bot, dispatcher = echo_bot(api, token)

    @dispatcher.startup()
    async def ready() -> None:
        print("ready", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    await stop.wait()
    await dispatcher.stop_polling()
    with contextlib.suppress(Exception):
        await polling
    await bot.session.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the Bot API server's base URL")
    parser.add_argument("--token", required=True)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.api, arguments.token))
