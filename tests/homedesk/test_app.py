"""`homedesk run` end to end: the whole process against the offline Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys

import aiohttp
import pytest

from homedesk.app import run
from storage.settings import load_settings
from tests.bot.conftest import TOKEN
from tests.botapi import BotApiServer
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.dbutil import fresh_engine, sqlite_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def healthz(port: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


async def wait_for_health(port: int, timeout: float = 30.0) -> dict:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            status, body = await healthz(port)
            if status == 200:
                return body
        except aiohttp.ClientError:
            pass
        assert loop.time() < deadline, "the web server never answered /healthz"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(settings):
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop=stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_run_answers_start_in_the_users_language_and_health(tmp_path):
    port = free_port()
    async with fresh_engine("sqlite", tmp_path), BotApiServer(token=TOKEN, limits=None) as api:
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=api.base_url,
                                 database_url=sqlite_url(tmp_path), console_port=port)
        async with running(settings):
            assert (await wait_for_health(port))["db"] is True
            ann = api.customer(first_name="Ann", language_code="en")
            li = api.customer(first_name="李", language_code="zh-hans")
            ann.send_command("start")
            li.send_command("start")
            await ann.wait_for("Hello Ann", timeout=30)
            await li.wait_for("您好", timeout=30)


async def test_run_without_a_token_starts_and_says_the_channel_is_off(tmp_path, caplog):
    port = free_port()
    caplog.set_level(logging.INFO)
    async with fresh_engine("sqlite", tmp_path):
        settings = load_settings(telegram_bot_token="", database_url=sqlite_url(tmp_path), console_port=port)
        async with running(settings):
            body = await wait_for_health(port)
    assert body == {"status": "ok", "db": True}
    assert "Telegram channel off: TELEGRAM_BOT_TOKEN is not set" in caplog.text


@requires_chromium
async def test_without_a_token_the_printed_chat_url_talks_to_the_bot_in_a_browser(tmp_path, capsys, browser):
    port = free_port()
    async with fresh_engine("sqlite", tmp_path):
        settings = load_settings(telegram_bot_token="", database_url=sqlite_url(tmp_path), console_port=port,
                                 media_dir=str(tmp_path / "media"))
        async with running(settings):
            await wait_for_health(port)
            printed = capsys.readouterr().out
            console_url = re.search(r"console: (\S+)", printed).group(1)
            chat_url = re.search(r"chat: +(\S+)", printed).group(1)
            assert (console_url, chat_url) == (f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/chat")
            assert "open it and talk to the bot" in printed
            context = await browser.new_context(locale="en-GB")
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            try:
                await page.goto(chat_url)
                await page.wait_for_selector("#messages li.bot .choices button")
                assert "Hello! I am the Homedesk assistant" in await page.inner_text("#messages")
                await page.fill("#text", "/help")
                await page.press("#text", "Enter")
                await page.wait_for_function(
                    "() => document.querySelector('#messages').innerText.includes('Here is what I can do')")
            finally:
                await context.close()


async def test_webhook_mode_takes_updates_on_the_web_server(tmp_path):
    port = free_port()
    async with fresh_engine("sqlite", tmp_path), BotApiServer(token=TOKEN, limits=None) as api:
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=api.base_url,
                                 database_url=sqlite_url(tmp_path), console_port=port,
                                 webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                                 webhook_secret="s3cret-token")
        async with running(settings):
            await wait_for_health(port)
            ann = api.customer(first_name="Ann")
            ann.send_command("help")
            await ann.wait_for("Here is what I can do", timeout=30)
            async with aiohttp.ClientSession() as http:
                forged = await http.post(f"http://127.0.0.1:{port}/telegram/webhook", json={"update_id": 1},
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                assert forged.status == 401
    assert TOKEN not in settings.webhook_url


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_sigterm_stops_run_gracefully(tmp_path, caplog):
    port = free_port()
    caplog.set_level(logging.INFO)
    async with fresh_engine("sqlite", tmp_path), BotApiServer(token=TOKEN, limits=None) as api:
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=api.base_url,
                                 database_url=sqlite_url(tmp_path), console_port=port)
        task = asyncio.create_task(run(settings))  # no stop event: only a signal ends it
        await wait_for_health(port)
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann", timeout=30)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 30)
    assert "shutting down" in caplog.text and "stopped" in caplog.text
    with pytest.raises(aiohttp.ClientError):
        await healthz(port)
    assert TOKEN.split(":")[1] not in caplog.text, "the token never appears in the log"


async def test_one_scheduler_runs_every_tick_and_runs_them_at_once_when_work_arrives(sessions, monkeypatch):
    from types import SimpleNamespace

    from dialogs import reminders
    from homedesk import app
    from storage.events import EventBus, conversation_changed, ticket_changed
    from storage.services import handoff
    from tests.bot.conftest import eventually
    from tests.workplace import workplace_for

    ticks = []
    reminder_ticks = []

    async def assignment_tick(work):
        ticks.append(work)
        return 0, 0

    async def reminder_tick(workplace, now=None):
        reminder_ticks.append(now)
        return 0

    monkeypatch.setattr(handoff, "assignment_tick", assignment_tick, raising=False)  # helper A's service
    monkeypatch.setattr(reminders, "tick", reminder_tick)
    bus = EventBus()
    scheduler = app._start_scheduler(workplace_for(sessions, bus, load_settings(handoff_tick_seconds=3600)))
    watcher = asyncio.create_task(app._run_jobs_on_events(bus, scheduler))
    try:
        assert {job.id for job in scheduler.get_jobs()} == {app.REMINDER_JOB, "listing-alerts", app.ASSIGNMENT_JOB,
                                                            "listing-verification", app.BROADCAST_JOB,
                                                            "deal-milestones"}
        await asyncio.sleep(0)  # the watcher subscribes
        started = len(reminder_ticks)  # the interval's first run is REMINDER_TICK_SECONDS away
        waiting = SimpleNamespace(id=1, customer_id=1, status="open", mode="waiting", assignee_id=None,
                                  handoff_reason="asked", version=2)
        await bus.publish(conversation_changed(waiting, queued=True))
        await eventually(lambda: bool(ticks), timeout=10, what="the assignment tick right after the event")
        # A ticket change the customer must hear about is delivered now, not at the next reminder tick.
        await bus.publish(ticket_changed(SimpleNamespace(id=7, number="R-1", status="in_progress", assignee_id=None)))
        await eventually(lambda: len(reminder_ticks) > started, timeout=app.REMINDER_TICK_SECONDS / 2,
                         what="the reminder tick right after a change, well before its interval")
    finally:
        watcher.cancel()
        scheduler.shutdown(wait=False)
    off = app._start_scheduler(workplace_for(sessions, bus, load_settings(handoff_tick_seconds=0)))
    try:
        assert off.get_job(app.ASSIGNMENT_JOB) is None
    finally:
        off.shutdown(wait=False)


async def test_a_notice_to_owners_scheduled_for_now_starts_at_once(sessions, monkeypatch):
    """The console schedules a notice for now; the scheduler's notices job runs at once, not at its next tick."""
    from sqlalchemy import select

    from bench.broadcast import seed_owners
    from homedesk import app
    from storage.events import EventBus
    from storage.models import OutboxMessage, Project
    from storage.services import broadcasts
    from tests.workplace import workplace_for

    monkeypatch.setattr(app, "BROADCAST_TICK_SECONDS", 3600)
    bus = EventBus()
    workplace = workplace_for(sessions, bus, load_settings(handoff_tick_seconds=0))
    await seed_owners(sessions, [41_000_001, 41_000_002, 41_000_003])
    scheduler = app._start_scheduler(workplace)
    watcher = asyncio.create_task(app._run_jobs_on_events(bus, scheduler))
    queued: list[int] = []
    try:
        await asyncio.sleep(0)  # the watcher subscribes
        async with workplace.open() as work:
            project = await work.session.scalar(select(Project.id))
            await broadcasts.schedule(work, text_en="Water off", text_zh="停水", audience={"project": [str(project)]},
                                      urgent=True)

        async def rows() -> None:
            async with sessions() as session:
                queued[:] = list((await session.scalars(select(OutboxMessage.chat_id))).all())

        async def poll() -> bool:
            await rows()
            return len(queued) == 3

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not await poll():
            assert loop.time() < deadline, "the notice did not start"
            await asyncio.sleep(0.05)
    finally:
        watcher.cancel()
        scheduler.shutdown(wait=False)
    assert sorted(queued) == [41_000_001, 41_000_002, 41_000_003]
