"""storage.gate: one writer at a time on SQLite, deliveries and staff clicks ahead of queued handlers."""

from __future__ import annotations

import asyncio

import pytest

from storage.gate import TurnLock, WriteGate


async def _queue(lock: TurnLock, order: list[str], name: str, *, ahead: bool = False) -> None:
    async with lock.turn(ahead=ahead):
        order.append(name)
        await asyncio.sleep(0)  # hold the turn across a switch, as a transaction does


async def test_first_come_first_served_within_a_queue_and_ahead_first() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()  # a handler holds the gate; others queue behind it
    tasks = [asyncio.create_task(_queue(lock, order, name)) for name in ("h1", "h2", "h3")]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(_queue(lock, order, name, ahead=True)) for name in ("send1", "send2")]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["send1", "send2", "h1", "h2", "h3"]
    assert not lock.locked


async def test_a_cancelled_waiter_loses_no_turn() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()
    doomed = asyncio.create_task(_queue(lock, order, "doomed", ahead=True))
    after = asyncio.create_task(_queue(lock, order, "after"))
    await asyncio.sleep(0)
    doomed.cancel()
    lock.release()
    await asyncio.gather(doomed, after, return_exceptions=True)
    assert order == ["after"] and not lock.locked


async def test_a_waiter_cancelled_after_its_turn_came_passes_it_on() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()
    first = asyncio.create_task(_queue(lock, order, "first"))
    second = asyncio.create_task(_queue(lock, order, "second"))
    await asyncio.sleep(0)
    lock.release()  # the turn is handed to `first`, which is cancelled before it runs
    first.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert order == ["second"] and not lock.locked


async def test_with_places_several_hold_at_once_and_ahead_still_goes_first() -> None:
    lock = TurnLock(places=2)
    order: list[str] = []
    await lock.acquire()
    await lock.acquire()  # both places taken
    assert lock.locked
    tasks = [asyncio.create_task(_queue(lock, order, name)) for name in ("h1", "h2")]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(_queue(lock, order, "send", ahead=True)))
    await asyncio.sleep(0)
    lock.release()
    await asyncio.sleep(0)
    assert order == ["send"]
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["send", "h1", "h2"] and not lock.locked


def test_releasing_a_free_lock_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        TurnLock().release()


async def test_the_gate_runs_one_writer_on_sqlite_and_a_few_on_postgres(any_sessions, backend: str) -> None:  # noqa: ANN001
    gate = WriteGate(any_sessions, postgres_places=3)
    inside = 0
    most = 0

    async def write(ahead: bool) -> None:
        nonlocal inside, most
        async with gate.transaction(ahead=ahead):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(write(n % 3 == 0) for n in range(12)))
    assert most == (1 if backend == "sqlite" else 3)
