"""No server file leaves through a listing photo: a stored reference outside the media folder (rows stored before
the import checked them, a link inside the folder changed since) is never uploaded; the card goes without it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import SendMediaGroup, SendMessage, SendPhoto
from aiogram.types import FSInputFile
from sqlalchemy import select

from bot.channel import ChannelOptions, TelegramChannel
from bot.render import render
from dialogs.replies import Album, Choice, Photo
from storage.models import Listing, ListingPhoto
from tests.bot.conftest import fast_limiter, settings_for
from tests.botapi import BotApiServer
from tests.botapi.files import tiny_png
from tests.botapi.wire import Upload
from tests.journey_data import seed

SERVER_FILES = [Path("/etc/hostname"), Path("/etc/passwd")]


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "listings").mkdir(parents=True)
    (folder / "listings" / "good.png").write_bytes(tiny_png(5, 4, (10, 200, 30)))
    return folder


@pytest.fixture
def secret(tmp_path: Path, media: Path) -> Path:
    """A server file outside the media folder that Telegram would accept (a real image), and a link to it inside."""
    outside = tmp_path / "private" / "secret.png"
    outside.parent.mkdir()
    outside.write_bytes(tiny_png(7, 7, (250, 0, 250)))
    (media / "listings" / "innocent.png").symlink_to(outside)
    return outside


def hostile_references(media: Path, secret: Path) -> list[str]:
    return [
        *(str(path) for path in SERVER_FILES if path.is_file()),
        "../../../../etc/passwd",
        str(secret),
        "listings/innocent.png",  # inside the folder, but a link out of it
        str(media / "listings" / "innocent.png"),
        f"{media}/listings/../../private/secret.png",
        "file:///etc/passwd",
    ]


def recording_uploads(api: BotApiServer) -> list[Upload]:
    """Every file the Bot API server receives, whatever it then makes of it."""
    uploads: list[Upload] = []
    read_params = api._read_params

    async def spy(request: Any) -> Any:
        params, files = await read_params(request)
        uploads.extend(files.values())
        return params, files

    api._read_params = spy  # type: ignore[method-assign]
    return uploads


@asynccontextmanager
async def channel(api: BotApiServer, sessions: Any, bus: Any, media: Path) -> AsyncIterator[TelegramChannel]:
    settings = settings_for(api, media_dir=str(media))
    options = ChannelOptions(limiter=fast_limiter(), poll_timeout=1,
                             sender={"poll_interval": 0.05, "backoff_base": 0.01, "backoff_cap": 0.05})
    bot_channel = TelegramChannel(settings, sessions, bus, options)
    await bot_channel.start()
    try:
        yield bot_channel
    finally:
        await bot_channel.stop()


async def test_a_stored_server_path_is_never_uploaded_and_the_card_goes_without_it(
        api, sessions, bus, frozen_clock, media, secret, caplog) -> None:
    ids = await seed(sessions)
    hostile = hostile_references(media, secret)
    async with sessions() as session, session.begin():
        listing = await session.get(Listing, ids["R-WJ-201"])
        assert listing is not None
        # As an unchecked import stored them: the card's own photo first, the media file last.
        listing.photos = [ListingPhoto(position=i, url=url)
                          for i, url in enumerate([*hostile, str(media / "listings" / "good.png")])]
    uploads = recording_uploads(api)
    forbidden = {path.read_bytes() for path in SERVER_FILES if path.is_file()} | {secret.read_bytes()}

    with caplog.at_level(logging.WARNING, logger="bot.render"):
        async with channel(api, sessions, bus, media):
            ann = api.customer(first_name="Ann", language_code="en")
            ann.send_text("2-bedroom to rent near Wangjing under 8k from March")
            await ann.wait_for("Here is what you are looking for")
            ann.press("✅ Show matches")
            card = await ann.wait_for("R-WJ-201")
            assert "photo" not in card and card["reply_markup"]["inline_keyboard"]  # the card, without its photo
            ann.press("Details")
            await ann.wait_for("Test Road")
            album = [m for m in api.sent(ann.chat_id) if m.get("caption") == "R-WJ-201"]

    assert uploads, "the good media file was uploaded"
    assert [upload.data for upload in uploads] == [(media / "listings" / "good.png").read_bytes()]
    assert not forbidden & {upload.data for upload in uploads}
    assert len(album) == 1 and "photo" in album[0]  # details: only the media file
    assert api.file_bytes(album[0]["photo"][-1]["file_id"]) == (media / "listings" / "good.png").read_bytes()
    warnings = [record.getMessage() for record in caplog.records if record.name == "bot.render"]
    assert warnings and all("etc" not in text and "secret" not in text and "innocent" not in text
                            for text in warnings)
    async with sessions() as session:  # nothing was changed to get there: the stored rows are as they were
        assert len(list(await session.scalars(select(ListingPhoto)
                                              .where(ListingPhoto.listing_id == ids["R-WJ-201"])))) == len(hostile) + 1


def test_render_keeps_links_media_files_and_file_ids_and_drops_the_rest(media: Path, secret: Path) -> None:
    good = str(media / "listings" / "good.png")
    for reference in hostile_references(media, secret):
        [call] = render(Photo(reference, caption="Card", choices=[[Choice("Book", "book:l:1")]]), 1, media)
        assert isinstance(call.method, SendMessage) and call.method.text == "Card"
        assert call.method.reply_markup is not None
        assert render(Photo(reference, caption=""), 1, media) == []
    [call] = render(Photo(good, caption="Card"), 1, media)
    assert isinstance(call.method, SendPhoto) and isinstance(call.method.photo, FSInputFile)
    assert Path(call.method.photo.path) == media / "listings" / "good.png"
    [call] = render(Photo("listings/good.png", caption="Card"), 1, media)  # relative to the media folder
    assert isinstance(call.method, SendPhoto) and isinstance(call.method.photo, FSInputFile)
    for passed_on in ("https://img.test/1.jpg", "AgACAgIAAxkBAAIBQ2Zf-file_id_0"):
        [call] = render(Photo(passed_on, caption="Card"), 1, media)
        assert isinstance(call.method, SendPhoto) and call.method.photo == passed_on
    [call] = render(Photo(good, caption="Card"), 1, None)  # no media folder: no local file at all
    assert isinstance(call.method, SendMessage)

    mixed = [*hostile_references(media, secret), good, "https://img.test/2.jpg"]
    [call] = render(Album(mixed, caption="R-1"), 1, media)
    assert isinstance(call.method, SendMediaGroup) and len(call.method.media) == 2
    [call] = render(Album(hostile_references(media, secret), caption="R-1"), 1, media)
    assert isinstance(call.method, SendMessage) and call.method.text == "R-1"


async def test_a_photo_an_agent_uploads_is_kept_in_the_media_folder_the_bot_sends_from(
        sessions, bus, media, tmp_path, monkeypatch) -> None:
    """The console writes uploads under Settings.media_path (not a folder of its own), so the bot's check lets them
    through, wherever the process runs."""
    from aiohttp import FormData
    from aiohttp.test_utils import TestClient, TestServer

    from dialogs.replies import reply_from_payload
    from staff_console.app import create_app
    from storage.db import transaction
    from storage.models import OutboxMessage
    from storage.services.staff_accounts import create_staff
    from tests.staff_console.conftest import PASSWORD, console_settings, sign_in
    from tests.staff_console.helpers import waiting_customer

    monkeypatch.chdir(tmp_path)  # not where the media folder is
    monkeypatch.delenv("MEDIA_DIR", raising=False)
    async with transaction(sessions) as session:
        await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)
    conversation = await waiting_customer(sessions, bus)
    app = create_app(settings=console_settings(media_dir=str(media)), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as client:
        token = await sign_in(client, "agent@example.com")
        base = f"/conversations/{conversation.id}"
        assert (await client.post(base + "/take", data={"csrf_token": token}, allow_redirects=False)).status == 303
        form = FormData()
        form.add_field("csrf_token", token)
        form.add_field("photo", tiny_png(), filename="plan.png", content_type="image/png")
        assert (await client.post(base + "/photo", data=form, allow_redirects=False)).status == 303
    async with sessions() as session:
        row = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))).first()
    assert row is not None and row.payload["kind"] == "photo"
    assert Path(row.payload["photo"]).parent == media / "console"
    [call] = render(reply_from_payload(row.payload), row.chat_id, media)
    assert isinstance(call.method, SendPhoto) and isinstance(call.method.photo, FSInputFile)
