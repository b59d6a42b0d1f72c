"""The composition root: `homedesk run` starts everything in one process.

- the event bus (in-process, or Redis with REDIS_URL);
- the web server (staff_console.app on CONSOLE_HOST:CONSOLE_PORT, /healthz included);
- the Telegram channel when TELEGRAM_BOT_TOKEN is set: polling, or in webhook mode (WEBHOOK_URL) a route on
  the same web server, plus the outbox sender;
- the periodic jobs (APScheduler 3, in-memory job store): the reminder tick every few seconds and the
  new-listing / price-drop alert scan every minute.
The schema is brought up to date by the CLI before `run` is called. SIGTERM/SIGINT stop it gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import clock
from storage.db import create_engine, session_factory
from storage.events import EventBus, create_event_bus
from storage.settings import Settings

log = logging.getLogger("homedesk.app")
REMINDER_TICK_SECONDS = 10
ALERT_TICK_SECONDS = 60


def _start_scheduler(sessions: async_sessionmaker[AsyncSession], bus: EventBus,
                     after_tick: Callable[[], None]) -> AsyncIOScheduler:
    from dialogs import alerts, reminders

    def guarded(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run_job() -> None:
            try:
                await job()
            except Exception:  # one bad tick must not stop the next one
                log.exception("%s failed", name)
            after_tick()  # whatever the job queued goes out now, not at the sender's next poll

        return run_job

    scheduler = AsyncIOScheduler(timezone="UTC")  # in-memory job store: see ARCHITECTURE.md decision 5
    scheduler.add_job(guarded("reminder tick", lambda: reminders.tick(sessions, bus, clock.now())), "interval",
                      seconds=REMINDER_TICK_SECONDS, id="reminder-tick", max_instances=1, coalesce=True)
    scheduler.add_job(guarded("listing alerts", lambda: alerts.tick(sessions, now=clock.now())), "interval",
                      seconds=ALERT_TICK_SECONDS, id="listing-alerts", max_instances=1, coalesce=True)
    scheduler.start()
    log.info("reminder tick every %d s, listing alerts every %d s", REMINDER_TICK_SECONDS, ALERT_TICK_SECONDS)
    return scheduler


async def _wake_sender_on_events(bus: EventBus, wake: Callable[[], None]) -> None:
    """Rows the console queues in this process come with events: deliver them now, not at the next poll."""
    async with bus.subscribe() as events:
        while True:
            event = await events.get()
            if event.kind != "message.status":  # the sender's own reports
                wake()


def _install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    return installed


async def run(settings: Settings, *, stop: asyncio.Event | None = None, channel_options: Any = None) -> None:
    """Run until SIGTERM/SIGINT (or until `stop` is set, for tests)."""
    from dialogs.flows import load_all
    from staff_console.app import create_app

    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one INFO line per update is too chatty
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two INFO lines per tick otherwise
    stop = stop or asyncio.Event()
    signals = _install_signal_handlers(stop)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    load_all()
    bus = create_event_bus(settings.redis_url)
    await bus.start()

    channel = None
    if settings.bot_token:
        from bot.channel import TelegramChannel

        channel = TelegramChannel(settings, sessions, bus, channel_options)
    else:
        log.warning("Telegram channel off: TELEGRAM_BOT_TOKEN is not set")

    web_app = create_app(settings=settings, sessions=sessions, bus=bus)
    if channel is not None and channel.webhook_mode:
        channel.mount_webhook(web_app)
    runner = web.AppRunner(web_app, handle_signals=False, access_log=None)
    scheduler: AsyncIOScheduler | None = None
    helpers: list[asyncio.Task[None]] = []
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.console_host, settings.console_port)
        await site.start()
        log.info("web server on http://%s:%s", settings.console_host, settings.console_port)
        wake = channel.sender.wake if channel is not None else (lambda: None)
        scheduler = _start_scheduler(sessions, bus, wake)
        if channel is not None:
            await channel.start()
            helpers.append(asyncio.create_task(_wake_sender_on_events(bus, wake), name="sender-wakeup"))
        # Start-up objects (aiogram's models, templates, the matcher's tables) live for the whole run: moving them
        # out of the collector's reach keeps full collections from stalling the event loop (bench/reminders.py).
        gc.collect()
        gc.freeze()
        await stop.wait()
        log.info("shutting down")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if channel is not None:
            await channel.stop()
        await runner.cleanup()
        await bus.close()
        await engine.dispose()
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
        log.info("stopped")
