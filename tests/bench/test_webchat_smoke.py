"""bench/webchat.py keeps working: a tiny in-process run of both parts (figures are not asserted)."""

from __future__ import annotations

import argparse

from bench import webchat as bench


async def test_the_webchat_bench_runs_end_to_end(monkeypatch) -> None:
    from storage.services import staff_accounts

    monkeypatch.setattr(staff_accounts, "_hasher", staff_accounts._hasher)  # the bench cheapens it; put it back
    args = argparse.Namespace(visitors=4, agents=1, interval=0.3, duration=1.5, database_url=None,
                              single_process=True)
    samples = await bench.run(args)
    assert samples.echo and samples.bot and samples.agent
    assert samples.lost_bot == samples.lost_agent == samples.lost_echo == 0
    bench.report(samples, args)
