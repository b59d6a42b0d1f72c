"""The composition root: `homedesk run` starts everything in one process.

- the event bus (in-process, or Redis with REDIS_URL);
- one Workplace (storage.unit_of_work): the write gate, the bus, the settings and the texts every entry point
  opens its units of work from; each committed unit wakes the Telegram sender;
- the web server (staff_console.app on CONSOLE_HOST:CONSOLE_PORT, /healthz included), with the customer web
  chat (bot.webchat: /chat, /widget.js and its socket) mounted on it, always on: anyone can try the bot;
- the Telegram channel when TELEGRAM_BOT_TOKEN is set: polling, or in webhook mode (WEBHOOK_URL) a route on
  the same web server, plus the outbox sender;
- every periodic job, in one scheduler (APScheduler 3, in-memory job store): the reminder tick every few
  seconds, the new-listing / price-drop alert scan every minute, the deal milestones (move-in notices, reminders
  of due steps) every minute, the handoff assignment tick every HANDOFF_TICK_SECONDS (and at once when a customer
  starts waiting for a person), and the notices-to-owners tick every few seconds (and at once when a notice is
  scheduled for now).
The schema is brought up to date by the CLI before `run` is called. SIGTERM/SIGINT stop it gracefully.

Roles (`homedesk run --role`, default all) split that across processes sharing one PostgreSQL and Redis:
- console: the web server (console, web chat, /healthz);
- bot: the Telegram channel (intake, outbox sender); in webhook mode with its own small web server on
  CONSOLE_HOST:CONSOLE_PORT (the webhook route and /healthz), to be put behind a load balancer;
- worker: the periodic jobs.
Whatever must happen in one place runs under a leadership (storage.leadership: a PostgreSQL advisory lock held
on a dedicated connection): the scheduler (so each tick of each job runs once across every worker and `all`
instance; a standby takes over within a few seconds when the leader stops), the poller, the recovery of
stored-but-unhandled updates. Row claims (reminders, outbox rows, updates) stay atomic on their own as well.
SQLite is one process: the roles still work there, but run one instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from storage import clock
from storage.db import create_engine, session_factory
from storage.events import Event, EventBus, create_event_bus
from storage.gate import WriteGate
from storage.settings import Settings
from storage.unit_of_work import Workplace

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.channel import ChannelOptions

log = logging.getLogger("homedesk.app")
REMINDER_TICK_SECONDS = 10
ALERT_TICK_SECONDS = 60
REMINDER_JOB = "reminder-tick"
MILESTONE_TICK_SECONDS = 60  # move-in notices that fell due, staff reminders of due and overdue deal steps
ASSIGNMENT_JOB = "handoff-assignment"
BROADCAST_TICK_SECONDS = 10
BROADCAST_JOB = "broadcasts"
ROLES = ("all", "bot", "console", "worker")


async def _assignment_tick(workplace: Workplace) -> None:
    """Requeue conversations whose assignee went silent, then give waiting ones to free agents."""
    from storage.services import handoff

    async with workplace.open() as work:
        await handoff.assignment_tick(work)


async def verification_tick(workplace: Workplace) -> tuple[int, int]:
    """Listings kept true: remind the agents of stale listings, withhold those past the grace period."""
    from storage.services import verification

    async with workplace.open() as work:
        return await verification.tick(work, clock.now())


def _start_scheduler(workplace: Workplace) -> AsyncIOScheduler:
    """Every periodic job of the process, in one scheduler, each run in its own unit of work (APScheduler is
    imported here: a bot or console process does not load it)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from dialogs import alerts, reminders
    from storage.services import broadcasts, milestones

    def guarded(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run_job() -> None:
            try:
                await job()
            except Exception:  # one bad tick must not stop the next one
                log.exception("%s failed", name)

        return run_job

    scheduler = AsyncIOScheduler(timezone="UTC")  # in-memory job store: see ARCHITECTURE.md decision 5
    scheduler.add_job(guarded("reminder tick", lambda: reminders.tick(workplace, clock.now())), "interval",
                      seconds=REMINDER_TICK_SECONDS, id=REMINDER_JOB, max_instances=1, coalesce=True)
    scheduler.add_job(guarded("listing alerts", lambda: alerts.tick(workplace, now=clock.now())), "interval",
                      seconds=ALERT_TICK_SECONDS, id="listing-alerts", max_instances=1, coalesce=True)
    scheduler.add_job(guarded("notices to owners", lambda: broadcasts.tick(workplace, clock.now())), "interval",
                      seconds=BROADCAST_TICK_SECONDS, id=BROADCAST_JOB, max_instances=1, coalesce=True)
    scheduler.add_job(guarded("deal milestones", lambda: milestones.tick(workplace, clock.now())), "interval",
                      seconds=MILESTONE_TICK_SECONDS, id="deal-milestones", max_instances=1, coalesce=True)
    assignment_seconds = workplace.settings.handoff_tick_seconds  # 0 turns automatic assignment off
    if assignment_seconds > 0:
        scheduler.add_job(guarded("handoff assignment", lambda: _assignment_tick(workplace)), "interval",
                          seconds=assignment_seconds, id=ASSIGNMENT_JOB, max_instances=1, coalesce=True)
    verification_seconds = workplace.settings.verification_tick_seconds  # 0 turns it off
    if verification_seconds > 0:
        scheduler.add_job(guarded("listing verification", lambda: verification_tick(workplace)), "interval",
                          seconds=verification_seconds, id="listing-verification", max_instances=1, coalesce=True)
    scheduler.start()
    log.info("reminder tick every %d s, listing alerts every %d s, handoff assignment %s", REMINDER_TICK_SECONDS,
             ALERT_TICK_SECONDS, f"every {assignment_seconds:g} s" if scheduler.get_job(ASSIGNMENT_JOB) else "off")
    return scheduler


def _due_now(event: Event) -> str | None:
    """The periodic job an event makes due at once, if any: a customer who starts waiting for a person should
    not wait for the next assignment tick, a ticket change the customer must hear about (queued as a
    "ticket_update" reminder, due at once) should not wait for the next reminder tick, and a notice to owners
    scheduled for now (in any console process) starts at once."""
    if event.kind == "conversation.changed" and event.data.get("mode") == "waiting":
        return ASSIGNMENT_JOB
    if event.kind == "ticket.changed":
        return REMINDER_JOB
    if event.kind == "broadcast.changed" and event.data.get("due"):  # a notice to owners scheduled for now
        return BROADCAST_JOB
    return None


async def _run_jobs_on_events(bus: EventBus, scheduler: AsyncIOScheduler) -> None:
    async with bus.subscribe() as events:
        while True:
            job_id = _due_now(await events.get())
            job = scheduler.get_job(job_id) if job_id else None
            if job is not None:  # coalesced: a burst of events runs the job once more, not once per event
                job.modify(next_run_time=datetime.now(UTC))


async def _wake_sender_on_events(bus: EventBus, wake: Callable[[], None]) -> None:
    """Units of work of this process wake the sender when they commit (Workplace.on_committed); rows queued by
    other processes (a console process sharing the Redis bus) come with events: deliver them now too."""
    async with bus.subscribe() as events:
        while True:
            event = await events.get()
            if event.kind not in ("message.status", "webchat.message"):  # delivery reports, web rows
                wake()


async def _run_jobs(workplace: Workplace) -> None:
    """The periodic jobs, for as long as this process leads them (cancelled when it stops leading)."""
    scheduler = _start_scheduler(workplace)
    helper = asyncio.create_task(_run_jobs_on_events(workplace.bus, scheduler), name="jobs-on-events")
    try:
        await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
        helper.cancel()
        await asyncio.gather(helper, return_exceptions=True)


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _create_bot_server() -> web.Application:
    """The web server of a bot-only instance in webhook mode: the webhook route (mounted by the channel)."""
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    return app


def _create_console(settings: Settings, workplace: Workplace) -> web.Application:
    from staff_console.app import create_app

    return create_app(settings=settings, sessions=workplace.gate.sessions, bus=workplace.bus, workplace=workplace)


def _bound_port(site: web.TCPSite, configured: int) -> int:
    """The port the server listens on (CONSOLE_PORT=0 picks a free one)."""
    server = getattr(site, "_server", None)
    for sock in getattr(server, "sockets", None) or ():
        return int(sock.getsockname()[1])
    return configured


def _base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host  # noqa: S104
    return f"http://{shown}:{port}"


def _install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    return installed


async def run(settings: Settings, *, stop: asyncio.Event | None = None,
              channel_options: ChannelOptions | None = None, role: str = "all") -> None:
    """Run until SIGTERM/SIGINT (or until `stop` is set, for tests). `role`: all, bot, console or worker."""
    from dialogs.notices import NOTICES
    from storage.leadership import Leadership

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    console_role = role in ("all", "console")
    bot_role = role in ("all", "bot")
    worker_role = role in ("all", "worker")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one INFO line per update is too chatty
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two INFO lines per tick otherwise
    stop = stop or asyncio.Event()
    signals = _install_signal_handlers(stop)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    bus = create_event_bus(settings.redis_url)
    await bus.start()
    # One workplace for the process: one write gate (SQLite has one writer), one bus, these settings.
    workplace = Workplace(WriteGate(sessions), bus, settings, NOTICES)

    channel = None
    if bot_role and settings.bot_token:
        from bot.channel import TelegramChannel

        channel = TelegramChannel(settings, sessions, bus, channel_options, workplace=workplace)
    elif bot_role:
        log.warning("Telegram channel off: TELEGRAM_BOT_TOKEN is not set")

    webchat = None
    web_app: web.Application | None = None
    if console_role:
        from bot.webchat import WebChatChannel

        webchat = WebChatChannel(settings, workplace)
        web_app = _create_console(settings, workplace)
        webchat.mount(web_app)
    if channel is not None and channel.webhook_mode:
        web_app = web_app if web_app is not None else _create_bot_server()
        channel.mount_webhook(web_app)
    runner = web.AppRunner(web_app, handle_signals=False, access_log=None) if web_app is not None else None
    helpers: list[asyncio.Task[None]] = []
    jobs = Leadership(engine, "periodic-jobs") if worker_role else None
    webchat_started = False
    try:
        if runner is not None:
            await runner.setup()
            site = web.TCPSite(runner, settings.console_host, settings.console_port)
            await site.start()
            base = _base_url(settings.console_host, _bound_port(site, settings.console_port))
            log.info("web server on %s (role %s)", base, role)
            if console_role:
                print(f"console: {base}/\nchat:    {base}/chat   (open it and talk to the bot)", flush=True)
            else:
                print(f"webhook: {base}{channel.webhook_path if channel else ''}", flush=True)
        if webchat is not None:
            await webchat.start()
            webchat_started = True
        if jobs is not None:
            # One scheduler across instances: the leader's (a standby takes over when it stops).
            helpers.append(asyncio.create_task(jobs.lead(lambda: _run_jobs(workplace)), name="periodic-jobs"))
        if channel is not None:
            await channel.start()
            helpers.append(asyncio.create_task(_wake_sender_on_events(bus, channel.sender.wake),
                                               name="sender-wakeup"))
        log.info("running as role %s", role)
        # Start-up objects (aiogram's models, templates, the matcher's tables) live for the whole run: moving them
        # out of the collector's reach keeps full collections from stalling the event loop (bench/reminders.py).
        gc.collect()
        gc.freeze()
        await stop.wait()
        log.info("shutting down")
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if webchat is not None and webchat_started:
            await webchat.stop()
        if channel is not None:
            await channel.stop()
        if runner is not None:
            await runner.cleanup()
        await bus.close()
        await engine.dispose()
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
        log.info("stopped")
