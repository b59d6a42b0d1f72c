"""Notices to owners benchmark (issue 13, Speed): one notice to a project of many owners.

Part 1 - queue: 20,000 owners (one home each, half reading Chinese) in one project; a notice to the project is
scheduled and `storage.services.broadcasts.tick` queues its outbox rows in batches. Printed: the time until every
row is queued and the largest event-loop stall meanwhile (a 5 ms ticker task measures how late it wakes up), next
to the same run's baseline: the same ticker on the idle loop just before (what the machine itself costs).
Targets: queued within 5 s, no stall over 100 ms.

Part 2 - delivery: a notice to 1,500 owners queued the same way, then delivered by the bot's real sender
(aiogram, SEND_RATE_GLOBAL, 1/s per chat) through the offline Bot API server (tests/botapi, its own process, as
Telegram is) with Telegram's flood limits on. Printed: messages per second from the first to the last accepted
message, the 429 answers, and the baseline of the same run: the theoretical minimum time at 30/s (1,500 / 30 =
50 s; 20,000 would need at least 667 s). Target: at least 90 % of 30/s (27/s) with zero 429s.

Usage: python -m bench.broadcast [--owners 20000] [--deliver 1500] [--batch 1000] [--database-url URL]
       [--send-rate 29] [--in-flight 16] [--gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# Run as a script, bench/ comes first on sys.path and bench/matching.py would shadow the matching package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.reminders import (  # noqa: E402
    TOKEN,
    StallMonitor,
    bot_api_process,
    database,
    delivery,
    wait_for_receipts,
    workplace,
)

PROJECT = "Harbour City"
CHUNK = 2000


async def seed_owners(sessions: async_sessionmaker[AsyncSession], chat_ids: list[int], *, project: str = PROJECT,
                      buildings: int = 10, zh_every: int = 2) -> dict[int, int]:
    """One verified owner per chat id, one home each in `project` (spread over `buildings`), inserted in bulk;
    every `zh_every`-th owner reads Chinese. Returns chat id -> customer id."""
    from storage import clock
    from storage.models import Building, Customer, CustomerUnit, Project, Unit

    now = clock.now()
    async with sessions() as session, session.begin():
        project_id = await session.scalar(select(Project.id).where(Project.name == project))
        if project_id is None:
            project_id = (await session.execute(insert(Project).values(
                name=project, city="Beijing", created_at=now, updated_at=now).returning(Project.id))).scalar_one()
        building_ids = []
        for number in range(1, buildings + 1):
            name = f"{number}"
            found = await session.scalar(select(Building.id).where(Building.project_id == project_id,
                                                                   Building.name == name))
            if found is None:
                found = (await session.execute(insert(Building).values(project_id=project_id, name=name)
                                               .returning(Building.id))).scalar_one()
            building_ids.append(found)
        for start in range(0, len(chat_ids), CHUNK):
            chunk = chat_ids[start:start + CHUNK]
            await session.execute(insert(Customer), [
                {"telegram_user_id": chat, "chat_id": chat, "first_name": f"Owner {chat}", "tags": [],
                 "language": "zh" if n % zh_every == 0 else "en", "language_chosen": False,
                 "language_from_text": False, "reply_keyboard": False, "channel": "telegram",
                 "notify_new_listings": n % 3 != 0, "phone": f"1{chat % 10**10:010d}", "phone_verified_at": now,
                 "created_at": now, "updated_at": now} for n, chat in enumerate(chunk, start=start)])
            await session.execute(insert(Unit), [
                {"building_id": building_ids[n % len(building_ids)], "unit_no": f"u{chat}",
                 "owner_name": f"Owner {chat}", "owner_phone": f"1{chat % 10**10:010d}",
                 "handover_date": date(2025, 6, 1), "created_at": now, "updated_at": now}
                for n, chat in enumerate(chunk, start=start)])
        customers = dict((await session.execute(select(Customer.chat_id, Customer.id).where(
            Customer.chat_id.in_(chat_ids)))).tuples().all())
        units = dict((await session.execute(select(Unit.unit_no, Unit.id).where(
            Unit.building_id.in_(building_ids)))).tuples().all())
        for start in range(0, len(chat_ids), CHUNK):
            await session.execute(insert(CustomerUnit), [
                {"customer_id": customers[chat], "unit_id": units[f"u{chat}"], "verified_at": now}
                for chat in chat_ids[start:start + CHUNK]])
    return {chat: customers[chat] for chat in chat_ids}


async def schedule_notice(sessions: async_sessionmaker[AsyncSession], *, project: str = PROJECT,
                          urgent: bool = True) -> int:
    """A notice to every owner of the project, due now (urgent: the benchmark ignores the hour it runs at)."""
    from storage.models import Project
    from storage.services import broadcasts

    async with workplace(sessions).open() as work:
        project_id = await work.session.scalar(select(Project.id).where(Project.name == project))
        notice = await broadcasts.schedule(
            work, text_en="Water supply is off today 10:00-14:00 for pipe repairs.",
            text_zh="今天10:00-14:00因管道维修停水。", audience={"project": [str(project_id)]}, urgent=urgent)
    return notice.id


async def idle_stall(seconds: float = 1.0) -> float:
    """The baseline: the ticker's worst lateness on this loop while nothing else runs."""
    with StallMonitor() as monitor:
        await asyncio.sleep(seconds)
    return monitor.worst


async def queue(count: int, batch: int, url: str | None, freeze: bool = False) -> dict[str, float]:
    from storage.models import Broadcast, OutboxMessage
    from storage.services import broadcasts

    async with database(url) as (_, sessions):
        here = workplace(sessions)
        # A running process has ticked before: warm up once (statement compilation, mapper setup).
        await seed_owners(sessions, [9_999_999], project="Warm-up")
        await schedule_notice(sessions, project="Warm-up")
        await broadcasts.tick(here, batch=batch)
        await seed_owners(sessions, list(range(10_000_001, 10_000_001 + count)))
        notice = await schedule_notice(sessions)
        if freeze:  # what `homedesk run` does after start-up (gc.freeze): full collections skip the code
            gc.collect()
            gc.freeze()
        baseline = await idle_stall()
        with StallMonitor() as monitor:
            started = time.perf_counter()
            queued = await broadcasts.tick(here, batch=batch)
            elapsed = time.perf_counter() - started
        async with sessions() as session:
            rows = len((await session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.broadcast_id == notice))).all())
            status = await session.scalar(select(Broadcast.status).where(Broadcast.id == notice))
    return {"owners": count, "queued": queued, "rows": rows, "sending": status == "sending", "seconds": elapsed,
            "per_second": queued / elapsed if elapsed else 0.0, "worst_stall_ms": monitor.worst * 1000,
            "worst_cpu_stall_ms": monitor.worst_cpu * 1000, "idle_stall_ms": baseline * 1000,
            "load": os.getloadavg()[0]}


async def deliver(count: int, url: str | None, send_rate: float, in_flight: int = 16) -> dict[str, Any]:
    import aiohttp

    from bot.channel import ChannelOptions, TelegramChannel
    from storage.events import EventBus
    from storage.services import broadcasts
    from storage.settings import load_settings

    async with bot_api_process() as base_url, database(url) as (_, sessions), aiohttp.ClientSession() as http:
        await seed_owners(sessions, list(range(20_000_001, 20_000_001 + count)))
        await schedule_notice(sessions)
        assert await broadcasts.tick(workplace(sessions)) == count
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=base_url, send_rate_global=send_rate,
                                 database_url=url or "sqlite+aiosqlite:///unused.db")
        channel = TelegramChannel(settings, sessions, EventBus(),
                                  ChannelOptions(poll_timeout=1, set_commands=False,
                                                 sender={"max_in_flight_broadcast": in_flight}))
        await channel.start()
        try:
            stats = await wait_for_receipts(http, base_url, count)
        finally:
            await channel.stop()
    return {**delivery(stats), "minimum_seconds": (count - 1) / 30}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--owners", type=int, default=20_000)
    parser.add_argument("--deliver", type=int, default=1_500)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--send-rate", type=float, default=29.0,
                        help="SEND_RATE_GLOBAL for the sender (the default setting is 29; Telegram allows 30)")
    parser.add_argument("--in-flight", type=int, default=16,
                        help="the sender's max_in_flight_broadcast (notice rows it holds at once)")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after warm-up, as `homedesk run` does after start-up")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    ok = True
    if args.owners:
        first = await queue(args.owners, args.batch, args.database_url, args.gc_freeze)
        print(f"queue: a notice to {first['owners']:,} owners -> {first['rows']:,} outbox rows in "
              f"{first['seconds']:.2f} s ({first['per_second']:,.0f}/s); worst event-loop stall "
              f"{first['worst_stall_ms']:.1f} ms wall, {first['worst_cpu_stall_ms']:.1f} ms of loop-thread CPU; "
              f"baseline (idle loop, same run) {first['idle_stall_ms']:.1f} ms (machine load {first['load']:.1f})  "
              f"[targets: <= 5 s, <= 100 ms]")
        ok = first["rows"] == args.owners and first["sending"] and first["seconds"] <= 5 \
            and first["worst_stall_ms"] <= 100
    if args.deliver:
        second = await deliver(args.deliver, args.database_url, args.send_rate, args.in_flight)
        print(f"delivery: {second['delivered']:,} messages in {second['seconds']:.1f} s = "
              f"{second['per_second']:.1f}/s ({second['share_of_30']:.0%} of 30/s); baseline: the theoretical "
              f"minimum at 30/s is {second['minimum_seconds']:.1f} s (20,000 need >= 667 s); "
              f"429 answers: {second['too_many_requests']}  [targets: >= 90 %, 0]")
        ok = ok and second["delivered"] == args.deliver and second["share_of_30"] >= 0.9 \
            and second["too_many_requests"] == 0
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
