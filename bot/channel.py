"""The Telegram channel assembled: Bot (pointed at TELEGRAM_API_BASE), Dispatcher with the unit-of-work
middleware and routers, the inbound pipeline fed by polling or a webhook, and the outbox sender.

The channel works in the process's Workplace (homedesk builds one and shares it with the console), so every
unit of work of the process, whoever opened it, wakes this channel's sender once it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers import build_routers
from bot.limits import SendLimiter
from bot.pipeline import InboundPipeline
from bot.polling import ALLOWED_UPDATES, Poller
from bot.sender import OutboxSender
from bot.session import BotApiSession
from bot.unit_of_work import UnitOfWorkMiddleware
from bot.webhook import WEBHOOK_PATH, StoringRequestHandler, bypass_console_middlewares
from dialogs.notices import NOTICES
from storage.events import EventBus
from storage.gate import WriteGate
from storage.leadership import Leadership
from storage.settings import Settings
from storage.unit_of_work import Workplace

log = logging.getLogger(__name__)
COMMANDS = {
    None: [("start", "Main menu"), ("help", "What I can do"), ("language", "Change language")],
    "zh": [("start", "主菜单"), ("help", "我能做什么"), ("language", "切换语言")],
}


def create_bot(token: str, api_base: str) -> Bot:
    session = BotApiSession(api=TelegramAPIServer.from_base(api_base))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(workplace: Workplace) -> Dispatcher:
    # Conversation state lives in the database, not in aiogram's FSM.
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.update.outer_middleware(UnitOfWorkMiddleware(workplace))
    dispatcher.include_routers(*build_routers())
    return dispatcher


@dataclass
class ChannelOptions:
    """Knobs tests and benchmarks turn; production uses the defaults and Settings."""

    handler_concurrency: int = 16
    max_pending_updates: int = 2000
    poll_timeout: int = 25
    sender: dict[str, Any] = field(default_factory=dict)  # keyword arguments for OutboxSender
    intake: dict[str, Any] = field(default_factory=dict)  # keyword arguments for InboundPipeline
    limiter: SendLimiter | None = None
    run_sender: bool = True
    set_commands: bool = True
    # Several instances (PostgreSQL): stored updates still waiting twice this long (an instance died) are taken
    # over by the one instance that leads recovery, which looks this often (default INTAKE_SWEEP_SECONDS).
    sweep_seconds: float | None = None
    leadership_retry_seconds: float = 2.0


def webhook_target(webhook_url: str) -> tuple[str, str]:
    """(public URL Telegram calls, local route path). A URL without a path gets /telegram/webhook."""
    parts = urlsplit(webhook_url)
    path = parts.path if parts.path not in ("", "/") else WEBHOOK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), path


class TelegramChannel:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus,
                 options: ChannelOptions | None = None, workplace: Workplace | None = None) -> None:
        """`workplace`: the process's shared one (its sessions and bus are used); without one the channel
        builds its own from `sessions` and `bus`, for a process that runs only the bot."""
        token = settings.bot_token
        if not token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.options = options or ChannelOptions()
        self.bot = create_bot(token, settings.telegram_api_base)
        limiter = self.options.limiter or SendLimiter(settings.send_rate_global,
                                                      settings.send_rate_per_chat_seconds,
                                                      settings.send_rate_group_per_minute)
        self.workplace = workplace or Workplace(WriteGate(sessions), bus, settings, NOTICES)
        self.sender = OutboxSender(self.bot, self.workplace, limiter, **self.options.sender)
        self.workplace.on_committed.append(self.sender.wake)  # rows queued in this process go out at once
        self.dispatcher = build_dispatcher(self.workplace)
        self.pipeline = InboundPipeline(self.bot, self.dispatcher, self.workplace.gate,
                                        concurrency=self.options.handler_concurrency,
                                        max_pending=self.options.max_pending_updates,
                                        **self.options.intake)
        self.poller = Poller(self.bot, self.pipeline, timeout=self.options.poll_timeout)
        engine = self.workplace.gate.sessions.kw["bind"]
        retry = self.options.leadership_retry_seconds
        # One instance recovers stored-but-unhandled updates; one instance polls (storage.leadership).
        self.recovery = Leadership(engine, "telegram-recovery", retry_seconds=retry, check_seconds=retry)
        self.polling = Leadership(engine, "telegram-polling", retry_seconds=retry, check_seconds=retry)
        self._tasks: list[asyncio.Task[None]] = []
        self._webhook_path: str | None = None
        self._recovered_term = 0

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.webhook_url)

    @property
    def webhook_path(self) -> str:
        return self._webhook_path or ""

    def mount_webhook(self, app: web.Application) -> str:
        """Add the webhook route to the web server's app (before it starts); returns the path."""
        if not self.settings.webhook_url:
            raise ValueError("WEBHOOK_URL is not set: the channel polls instead")
        _, path = webhook_target(self.settings.webhook_url)
        if self.settings.bot_token and self.settings.bot_token in path:
            raise ValueError("WEBHOOK_URL must not contain the bot token")
        secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else None
        StoringRequestHandler(self.pipeline, self.bot, secret).register(app, path=path)
        app.middlewares.insert(0, bypass_console_middlewares(path))
        self._webhook_path = path
        return path

    async def start(self) -> None:
        if await self.recovery.try_acquire():  # the first instance recovers before it takes new updates
            await self.pipeline.recover()
            self._recovered_term = self.recovery.terms
        self._tasks.append(asyncio.create_task(self.recovery.lead(self._recover_and_sweep), name="intake-sweep"))
        if self.options.run_sender:
            self._tasks.append(asyncio.create_task(self.sender.run(), name="outbox-sender"))
        if self.options.set_commands:
            await self._set_commands()
        if self.webhook_mode:
            url, _ = webhook_target(self.settings.webhook_url or "")
            secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else None
            await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram channel on: webhook at %s", self._webhook_path or "(not mounted)")
        else:
            with contextlib.suppress(Exception):  # a leftover webhook would make getUpdates fail with 409
                await self.bot.delete_webhook(drop_pending_updates=False)
            self._tasks.append(asyncio.create_task(self.polling.lead(self._poll), name="telegram-poller"))
            log.info("Telegram channel on: polling %s%s", urlsplit(self.settings.telegram_api_base).netloc,
                     " (the instance that holds the polling lock polls, the others wait)"
                     if self.polling.shared else "")

    async def _poll(self) -> None:
        self.poller.offset = None  # a new leader starts from what Telegram has not seen confirmed
        await self.poller.run()

    async def _recover_and_sweep(self) -> None:
        """While this instance leads recovery: take over what a stopped instance stored and left unhandled."""
        if self._recovered_term != self.recovery.terms:  # leading later than start, or again: the backlog first
            await self.pipeline.recover()
            self._recovered_term = self.recovery.terms
        every = self.options.sweep_seconds or self.settings.intake_sweep_seconds
        while True:
            await asyncio.sleep(every)
            try:
                await self.pipeline.sweep(timedelta(seconds=2 * every))
            except Exception:
                log.exception("the sweep for unhandled updates failed")

    async def _set_commands(self) -> None:
        for language, commands in COMMANDS.items():
            try:
                await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                               language_code=language)
            except Exception as exc:  # cosmetic: the commands work without the menu
                log.warning("setMyCommands failed: %s", exc)
                return

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for task in pending:
            log.error("%s did not stop within 10 s", task.get_name())
        self._tasks.clear()
        with contextlib.suppress(ValueError):
            self.workplace.on_committed.remove(self.sender.wake)
        await self.pipeline.close()
        await self.recovery.release()
        await self.polling.release()
        await self.bot.session.close()
