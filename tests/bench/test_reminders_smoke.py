"""bench/reminders.py keeps working: a tiny run of its claim-and-queue part (figures are not asserted)."""

from __future__ import annotations

from bench import reminders as bench


async def test_claim_and_queue_runs_end_to_end() -> None:
    result = await bench.claim_and_queue(60, 25, None)
    assert result["sent"] == 60 and result["queued"] == 60
