"""Hostile cells are rejected rows with their line, never an error or a stored value: huge, non-finite or malformed
numbers in every numeric column, and photos that name server files. Good rows in the same file are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from homedesk.cli import main
from storage.importers import import_districts, import_listings, import_units
from storage.media import PhotoError, check_photo, resolve_photo
from storage.models import District, Listing, Unit
from tests.storage.importers.test_importers import DISTRICTS, LISTING_HEADER, listing_line

# Rejected in every numeric column.
EVERYWHERE = [
    "1e999999", "9" * 400, "NaN", "nan", "Infinity", "-Infinity", "inf", "1e5", str(10**30), "-" + "9" * 400,
    "0x1F", "1_000", "12abc", "１２", "٣", "1.2.3", "--1", "1,0", ".",
]
# Rejected in one column (fine in others).
PER_COLUMN = {
    "price": ["-0", "0", "-5", "0.00", "0.004", "1000000000000", "999999999999.995"],  # as stored: 2 places
    "area_m2": ["-0", "0", "-3.5", "1000001"],
    "bedrooms": ["-0", "-1", "100", "2.5"],
    "bathrooms": ["-0", "-1", "100", "1.5"],
    "floor": ["-10", "301", "3.5"],
    "floors_total": ["-0", "0", "301"],
    "lat": ["500", "-90.5", "90.01"],
    "lon": ["181", "-180.5", "1000"],
}


def hostile_cells() -> list[tuple[str, str]]:
    return [(column, value) for column in PER_COLUMN for value in [*EVERYWHERE, *PER_COLUMN[column]]]


def listing_with(ref: str, column: str, value: str) -> str:
    changes = {column: f'"{value}"'}  # quoted: "1,0" is one cell
    if column == "floor":
        changes["floors_total"] = "300"  # so that only the floor's own range is at stake
    return listing_line(ref, **changes)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(b"png")
    return folder


async def test_every_numeric_column_rejects_hostile_numbers_per_row(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    cells = hostile_cells()
    lines = [listing_line("GOOD-1")]
    lines += [listing_with(f"BAD-{n}", column, value) for n, (column, value) in enumerate(cells)]
    lines += [listing_line("GOOD-2", price="\"1,250,000.50\"", floor="-2", lat="-0", lon="0")]
    report = await import_listings(any_sessions, (LISTING_HEADER + "".join(lines)).encode(), media_dir=media)

    assert report.inserted == 2
    errors = sorted(report.errors)
    assert [line for line, _ in errors] == list(range(3, 3 + len(cells)))
    for (line, reason), (column, value) in zip(errors, cells, strict=True):
        assert reason.startswith(f"{column} "), (line, column, value, reason)
        assert len(reason) < 120 and "9" * 30 not in reason  # a clear reason, not the cell echoed back
    async with any_sessions() as session:
        listings = {item.ref_code: item for item in await session.scalars(select(Listing))}
    assert set(listings) == {"GOOD-1", "GOOD-2"}
    assert str(listings["GOOD-2"].price) == "1250000.50" and listings["GOOD-2"].floor == -2
    assert (listings["GOOD-2"].lat, listings["GOOD-2"].lon) == (0.0, 0.0)


async def test_largest_values_in_range_are_stored(any_sessions, media) -> None:
    """The ranges are inside what the columns hold, on both databases."""
    await import_districts(any_sessions, DISTRICTS.encode())
    line = listing_line("BIG", price="999999999999.99", area_m2="1000000", bedrooms="99", bathrooms="99",
                        floor="300", floors_total="300", lat="-90", lon="180")
    report = await import_listings(any_sessions, (LISTING_HEADER + line).encode(), media_dir=media)
    assert (report.inserted, report.errors) == (1, [])
    async with any_sessions() as session:
        listing = await session.scalar(select(Listing))
    assert str(listing.price) == "999999999999.99" and listing.bedrooms == 99


async def test_district_coordinates_reject_hostile_numbers_per_row(any_sessions) -> None:
    values = [*EVERYWHERE, "500", "-181", "1000"]
    text = "city,name,aliases,lat,lon,neighbours\nBeijing,Good,,39.9,116.4,\n"
    text += "".join(f"Beijing,Lat{n},,{value},116.4,\n" for n, value in enumerate(values) if "," not in value)
    text += "".join(f"Beijing,Lon{n},,39.9,{value},\n" for n, value in enumerate(values) if "," not in value)
    text += "Beijing,Quoted,,\"1,0\",116.4,\nBeijing,Good2,,-0,-0,\n"
    report = await import_districts(any_sessions, text.encode())
    rows = text.count("\n") - 1
    assert report.inserted == 2
    assert [line for line, _ in report.errors] == list(range(3, rows + 1))
    assert all(reason.startswith(("lat ", "lon ")) for _, reason in report.errors)
    async with any_sessions() as session:
        assert set(await session.scalars(select(District.name))) == {"Good", "Good2"}


async def test_units_reject_hostile_cells_per_row(any_sessions) -> None:
    text = (
        "project,building,unit_no,owner_name,owner_phone,handover_date\n"
        "P,B,101,Good,13800138000,2021-06-30\n"
        f"P,B,102,Huge,{'9' * 400},2021-06-30\n"
        "P,B,104,Year,13800138000,999999-01-01\n"
        f"P,B,{'1' * 400},Long,13800138000,\n"
    )
    report = await import_units(any_sessions, text.encode())
    assert report.inserted == 1
    assert [line for line, _ in report.errors] == [3, 4, 5]
    async with any_sessions() as session:
        assert list(await session.scalars(select(Unit.unit_no))) == ["101"]


# --- photos -----------------------------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path, media: Path) -> Path:
    """A file outside the media folder, a link to it inside, and a folder inside."""
    secret = tmp_path / "private" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(b"secret")
    (media / "link.png").symlink_to(secret)
    (media / "folder.png").mkdir()
    (media / "loop.png").symlink_to(media / "loop.png")
    return secret


def hostile_photos(media: Path, secret: Path) -> list[tuple[str, str]]:
    """(photos cell, the reason's end)"""
    return [
        ("/etc/hostname", "is outside the media folder"),
        ("/etc/passwd", "is outside the media folder"),
        ("../../../../etc/passwd", "must not contain '..'"),
        ("a.png;../a.png", "must not contain '..'"),
        (f"{media}/../private/secret.png", "must not contain '..'"),
        (str(secret), "is outside the media folder"),
        (str(media) + "-other/a.png", "is outside the media folder"),  # a sibling whose name starts the same
        ("link.png", "leads outside the media folder"),
        (str(media / "link.png"), "leads outside the media folder"),
        ("folder.png", "is not a file in the media folder"),
        ("loop.png", "is not a file in the media folder"),
        ("missing.png", "is not a file in the media folder"),
        ("/dev/zero", "is outside the media folder"),
        ("~/.ssh/id_rsa", "is not a file in the media folder"),
        ("file:///etc/passwd", "is neither an http(s) link nor a file in the media folder"),
        ("ftp://example.com/a.png", "is neither an http(s) link nor a file in the media folder"),
        ("javascript:alert(1)", "is neither an http(s) link nor a file in the media folder"),
        ("https://", "is not a valid link"),
        ("https://" + "x" * 600 + ".png", "is longer than 512 characters"),
    ]


async def test_photos_outside_the_media_folder_are_rejected_rows(any_sessions, media, outside) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    hostile = hostile_photos(media, outside)
    good = f"a.png;{media / 'b.png'};https://img.example/1.jpg;http://img.example/2.jpg"
    lines = [listing_line("GOOD", photos=good)]
    lines += [listing_line(f"BAD-{n}", photos=f"\"{cell}\"") for n, (cell, _) in enumerate(hostile)]
    report = await import_listings(any_sessions, (LISTING_HEADER + "".join(lines)).encode(), media_dir=media)

    assert report.inserted == 1
    assert [line for line, _ in report.errors] == list(range(3, 3 + len(hostile)))
    for (_, reason), (_, expected) in zip(report.errors, hostile, strict=True):
        assert reason.startswith("photo '") and reason.endswith(expected), reason
    async with any_sessions() as session:
        listing = await session.scalar(select(Listing))
    assert listing.ref_code == "GOOD"
    assert [photo.url for photo in listing.photos] == good.split(";")


def test_check_photo_resolves_inside_the_media_folder(media, outside, tmp_path) -> None:
    assert check_photo("a.png", media) == media / "a.png"
    assert check_photo(f" {media / 'a.png'} ", media) == media / "a.png"
    assert check_photo("HTTPS://img.example/x.jpg", media) == "HTTPS://img.example/x.jpg"
    # The media folder named through a link of its own still works, and resolves to the real folder.
    (tmp_path / "media-link").symlink_to(media)
    assert check_photo(str(tmp_path / "media-link" / "a.png"), tmp_path / "media-link") == media / "a.png"
    assert check_photo(str(media / "a.png"), tmp_path / "media-link") == media / "a.png"
    for value, _ in hostile_photos(media, outside):
        for one in value.split(";"):
            if one != "a.png":
                assert resolve_photo(one, media) is None, one
                assert resolve_photo(one, media, file_id=True) is None, one
    with pytest.raises(PhotoError, match="control characters"):
        check_photo("a.png\x00", media)
    # The bot also passes on Telegram file ids (its photo cache); an import does not take them.
    assert resolve_photo("AgACAgIAAxkBAAIB_x-1", media, file_id=True) == "AgACAgIAAxkBAAIB_x-1"
    assert resolve_photo("AgACAgIAAxkBAAIB_x-1", media) is None


# --- the command line -------------------------------------------------------------------------------------------


def shortened(value: str) -> str:
    """As reasons show a cell: whole up to 60 characters, else its start."""
    return value if len(value) <= 60 else value[:56] + "…"


@pytest.fixture
def cli_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, media: Path) -> Path:
    for name in ("DATABASE_URL", "MEDIA_DIR", "TELEGRAM_BOT_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'homedesk.db'}")
    monkeypatch.setenv("MEDIA_DIR", str(media))
    return tmp_path


def test_cli_import_rejects_hostile_rows_by_line_and_keeps_the_good_ones(cli_dir, media, outside, capsys) -> None:
    (cli_dir / "districts.csv").write_text(DISTRICTS + "Beijing,Far,,500,116,\n", encoding="utf-8")
    assert main(["import-districts", "districts.csv"]) == 1
    assert "districts.csv:4: rejected: lat must be between -90 and 90" in capsys.readouterr().err

    rows = [
        listing_line("GOOD-1", photos="a.png;https://img.example/1.jpg"),
        listing_line("BAD-PRICE", price="1e999999"),
        listing_line("BAD-NINES", price="9" * 400),
        listing_line("BAD-NAN", area_m2="NaN"),
        listing_line("BAD-INF", area_m2="Infinity"),
        listing_line("BAD-ZERO", price="-0"),
        listing_line("BAD-AREA", area_m2="-85"),
        listing_line("BAD-ROOMS", bedrooms=str(10**30)),
        listing_line("BAD-LAT", lat="500"),
        listing_line("BAD-HOST", photos="/etc/hostname"),
        listing_line("BAD-UP", photos="../../../../etc/passwd"),
        listing_line("BAD-OUT", photos=str(outside)),
        listing_line("BAD-LINK", photos="link.png"),
        listing_line("GOOD-2", photos=str(media / "b.png")),
    ]
    (cli_dir / "listings.csv").write_text(LISTING_HEADER + "".join(rows), encoding="utf-8")
    assert main(["import-listings", "listings.csv"]) == 1
    out, err = capsys.readouterr()
    assert "listings: 2 inserted" in out and "12 rejected" in out
    rejected = [line for line in err.splitlines() if ": rejected: " in line]
    assert rejected == [
        "listings.csv:3: rejected: price is '1e999999'; expected a number",
        "listings.csv:4: rejected: price must be a positive number up to 999999999999.99",
        "listings.csv:5: rejected: area_m2 is 'NaN'; expected a number",
        "listings.csv:6: rejected: area_m2 is 'Infinity'; expected a number",
        "listings.csv:7: rejected: price must be a positive number up to 999999999999.99",
        "listings.csv:8: rejected: area_m2 must be a positive number up to 1000000",
        "listings.csv:9: rejected: bedrooms must be a whole number from 0 to 99",
        "listings.csv:10: rejected: lat must be between -90 and 90",
        "listings.csv:11: rejected: photo '/etc/hostname' is outside the media folder",
        "listings.csv:12: rejected: photo '../../../../etc/passwd' must not contain '..'",
        f"listings.csv:13: rejected: photo {shortened(str(outside))!r} is outside the media folder",
        "listings.csv:14: rejected: photo 'link.png' leads outside the media folder",
    ]
    with sqlite3.connect(cli_dir / "homedesk.db") as connection:
        stored = connection.execute("SELECT ref_code FROM listings ORDER BY ref_code").fetchall()
        photos = [url for (url,) in connection.execute("SELECT url FROM listing_photos ORDER BY id")]
    assert stored == [("GOOD-1",), ("GOOD-2",)]
    assert photos == ["a.png", "https://img.example/1.jpg", str(media / "b.png")]
