"""bench/broadcast.py keeps working: a tiny run of its queueing part (figures are not asserted)."""

from __future__ import annotations

from bench import broadcast as bench


async def test_queue_runs_end_to_end() -> None:
    result = await bench.queue(60, 25, None)
    assert result["queued"] == 60 and result["rows"] == 60 and result["sending"]
