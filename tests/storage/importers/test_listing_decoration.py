"""Issue 15: the listings CSV takes furnished=partial (and 部分) and an optional decoration column."""

from __future__ import annotations

from sqlalchemy import select

from storage.importers import import_districts, import_listings
from storage.models import Listing
from tests.storage.importers.test_importers import DISTRICTS, LISTING_HEADER, listing_line, media  # noqa: F401


async def test_partly_furnished_and_decoration_are_read(any_sessions, media) -> None:  # noqa: F811
    await import_districts(any_sessions, DISTRICTS.encode())
    header = LISTING_HEADER.rstrip("\n") + ",decoration\n"
    rows = [
        listing_line("P1", furnished="partial").rstrip("\n") + ",精装\n",
        listing_line("P2", furnished="部分").rstrip("\n") + ",basic\n",
        listing_line("P3", furnished="no").rstrip("\n") + ",毛坯房\n",
        listing_line("P4", furnished="yes").rstrip("\n") + ",\n",
        listing_line("P5", furnished="yes").rstrip("\n") + ",luxurious\n",
    ]
    report = await import_listings(any_sessions, (header + "".join(rows)).encode(), media_dir=media)
    assert report.inserted == 4
    assert report.errors == [(6, "decoration is 'luxurious'; expected fine/basic/bare or 精装/简装/毛坯")]
    async with any_sessions() as session:
        got = {x.ref_code: (x.furnished, x.partly_furnished, x.decoration)
               for x in await session.scalars(select(Listing))}
    assert got == {
        "P1": (True, True, "fine"),
        "P2": (True, True, "basic"),
        "P3": (False, None, "bare"),
        "P4": (True, None, None),
    }


async def test_the_old_header_without_decoration_still_imports(any_sessions, media) -> None:  # noqa: F811
    await import_districts(any_sessions, DISTRICTS.encode())
    report = await import_listings(any_sessions, (LISTING_HEADER + listing_line("Q1")).encode(), media_dir=media)
    assert (report.inserted, report.errors, report.warnings) == (1, [], [])
