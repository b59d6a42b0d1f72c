"""bench/relay.py keeps working: a tiny in-process run of Homedesk and of its same-run baseline (figures are not
asserted), and the ratios it prints."""

from __future__ import annotations

import argparse
import math

from bench import relay as bench


def test_the_ratios_are_homedesk_over_the_baseline_at_p50_and_p99() -> None:
    ours = bench.Samples(inbound=[10.0] * 99 + [100.0], outbound=[8.0, 8.0, 8.0])
    bare = bench.Samples(inbound=[2.0] * 99 + [20.0], outbound=[4.0, 4.0, 4.0])
    assert bench.ratios(ours, bare) == {"inbound": (5.0, 5.0), "outbound": (2.0, 2.0)}


def test_a_side_without_samples_gives_no_ratio_rather_than_a_number() -> None:
    ratios = bench.ratios(bench.Samples(inbound=[10.0]), bench.Samples(outbound=[4.0]))
    assert all(math.isnan(value) for pair in ratios.values() for value in pair)


async def test_the_relay_bench_and_its_baseline_run_end_to_end(monkeypatch, capsys) -> None:
    from storage.services import staff_accounts

    monkeypatch.setattr(staff_accounts, "_hasher", staff_accounts._hasher)  # the bench cheapens it; put it back
    args = argparse.Namespace(conversations=3, interval=0.3, duration=1.5, reply_every=1, database_url=None,
                              redis_url=None, wake=True, single_process=True, skip_baseline=False)
    samples, baseline = await bench.run(args)
    assert baseline is not None
    assert samples.inbound and samples.outbound and baseline.inbound and baseline.outbound
    assert samples.lost_inbound == samples.lost_outbound == baseline.lost_inbound == baseline.lost_outbound == 0
    bench.report(samples, baseline, args)
    assert "ratio Homedesk / baseline (p50, p99): inbound" in capsys.readouterr().out
