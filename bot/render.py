"""Channel-neutral replies -> Bot API calls (aiogram method objects), ready for the sender.

One reply can need several calls (a long text split in parts, an album of more than ten photos, a caption
too long for a photo). An edit carries a fallback: when the message to edit is gone, the same content is
sent as a new message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.enums import ParseMode
from aiogram.methods import (
    EditMessageMedia,
    EditMessageText,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MediaUnion,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from bot.callbacks import pack_token
from dialogs.replies import Album, AskContact, AskLocation, Choice, Location, Photo, Reply, Say
from storage.media import PhotoError, check_photo

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ALBUM = 10
HTML = ParseMode.HTML
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    method: TelegramMethod[Any]
    fallback: TelegramMethod[Any] | None = None  # sent instead when an edit target no longer exists
    weight: int = 1  # messages this call puts in the chat (an album counts each photo)


def utf16_length(text: str) -> int:
    """Telegram measures text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split on line boundaries into parts of at most `limit`; a single longer line is cut where no HTML tag
    or entity is broken."""
    if utf16_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while utf16_length(line) > limit:
            cut = _safe_cut(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current.strip():
        parts.append(current)
    return [part for part in parts if part.strip()] or [text[:limit]]


def _safe_cut(line: str, limit: int) -> int:
    cut = limit
    while utf16_length(line[:cut]) > limit:
        cut -= 1
    head = line[:cut]
    # Do not cut inside "<b ...>" or "&amp;": back up to the start of the unfinished markup.
    for opener, closer in (("<", ">"), ("&", ";")):
        start = head.rfind(opener)
        if start > 0 and head.rfind(closer) < start:
            cut = start
            head = line[:cut]
    space = head.rfind(" ")
    return space if space > limit // 2 else cut


def inline_keyboard(choices: list[list[Choice]]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    builder = InlineKeyboardBuilder()
    for row in choices:
        builder.row(*(InlineKeyboardButton(text=c.label, callback_data=pack_token(c.token)) for c in row))
    return builder.as_markup()


def _request_keyboard(button: str, cancel: str, *, contact: bool) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    builder.button(text=button, request_contact=contact or None, request_location=(not contact) or None)
    if cancel:
        builder.button(text=cancel)
    builder.adjust(1)
    return builder.as_markup(resize_keyboard=True, one_time_keyboard=True)


def photo_input(photo: str, media_dir: Path | None) -> str | FSInputFile | None:
    """A file inside the media folder is uploaded; a URL or a Telegram file_id is passed as is. Anything else
    (a stored path outside the media folder, a link leading out of it, no media folder) is None: that photo is
    not sent, and the warning does not name the path."""
    try:
        if media_dir is None:
            raise PhotoError("cannot be a file: no media folder")
        checked = check_photo(photo, media_dir, file_id=True)
    except PhotoError as exc:
        log.warning("a photo was left out of a message: the stored reference %s", exc)
        return None
    return FSInputFile(checked) if isinstance(checked, Path) else checked


def render(reply: Reply, chat_id: int, media_dir: Path | None = None) -> list[Call]:
    """`media_dir`: where local photos may be uploaded from (Settings.media_path); without it, none are."""
    if isinstance(reply, Say):
        return _say(reply, chat_id)
    if isinstance(reply, Photo):
        return _photo(reply, chat_id, media_dir)
    if isinstance(reply, Album):
        return _album(reply, chat_id, media_dir)
    if isinstance(reply, Location):
        return [Call(SendLocation(chat_id=chat_id, latitude=reply.latitude, longitude=reply.longitude))]
    if isinstance(reply, AskContact | AskLocation):
        keyboard = _request_keyboard(reply.button, reply.cancel, contact=isinstance(reply, AskContact))
        return [Call(SendMessage(chat_id=chat_id, text=part, parse_mode=HTML,
                                 reply_markup=keyboard if last else None))
                for part, last in _with_last(split_text(reply.text))]
    raise ValueError(f"cannot render a {reply.kind!r} reply")


def _with_last(parts: list[str]) -> list[tuple[str, bool]]:
    return [(part, index == len(parts) - 1) for index, part in enumerate(parts)]


def _say(reply: Say, chat_id: int) -> list[Call]:
    keyboard = inline_keyboard(reply.choices)
    parts = split_text(reply.text)
    if reply.edit_message_id and len(parts) == 1:
        new = SendMessage(chat_id=chat_id, text=parts[0], parse_mode=HTML, reply_markup=keyboard)
        edit = EditMessageText(chat_id=chat_id, message_id=reply.edit_message_id, text=parts[0],
                               parse_mode=HTML, reply_markup=keyboard)
        return [Call(edit, fallback=new)]
    calls = []
    for index, (part, last) in enumerate(_with_last(parts)):
        markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None = keyboard if last else None
        # The reply keyboard goes away with the first part; a one-part message with buttons keeps the buttons.
        if index == 0 and reply.remove_keyboard and markup is None:
            markup = ReplyKeyboardRemove()
        calls.append(Call(SendMessage(chat_id=chat_id, text=part, parse_mode=HTML, reply_markup=markup)))
    return calls


def _photo(reply: Photo, chat_id: int, media_dir: Path | None) -> list[Call]:
    keyboard = inline_keyboard(reply.choices)
    photo = photo_input(reply.photo, media_dir)
    if photo is None:  # the card without its photo (a new message: a photo message cannot become text)
        return _say(Say(text=reply.caption, choices=reply.choices), chat_id) if reply.caption else []
    fits = utf16_length(reply.caption) <= MAX_CAPTION
    if reply.edit_message_id and fits:
        # The media edit replaces the picture too: next/previous on a listing card shows the next listing's photo.
        media = InputMediaPhoto(media=photo, caption=reply.caption or None, parse_mode=HTML)
        edit = EditMessageMedia(chat_id=chat_id, message_id=reply.edit_message_id, media=media,
                                reply_markup=keyboard)
        new = SendPhoto(chat_id=chat_id, photo=photo, caption=reply.caption or None,
                        parse_mode=HTML, reply_markup=keyboard)
        return [Call(edit, fallback=new)]
    if fits:
        return [Call(SendPhoto(chat_id=chat_id, photo=photo, caption=reply.caption or None,
                               parse_mode=HTML, reply_markup=keyboard))]
    # Too long for a caption: the photo, then the text (with the buttons) as its own message.
    calls = [Call(SendPhoto(chat_id=chat_id, photo=photo))]
    return calls + _say(Say(text=reply.caption, choices=reply.choices), chat_id)


def _album(reply: Album, chat_id: int, media_dir: Path | None) -> list[Call]:
    calls: list[Call] = []
    caption_fits = utf16_length(reply.caption) <= MAX_CAPTION
    photos = [photo for photo in (photo_input(p, media_dir) for p in reply.photos) if photo is not None]
    for start in range(0, len(photos), MAX_ALBUM):
        chunk = photos[start:start + MAX_ALBUM]
        caption = reply.caption if start == 0 and caption_fits and reply.caption else None
        if len(chunk) == 1:  # sendMediaGroup needs at least two
            calls.append(Call(SendPhoto(chat_id=chat_id, photo=chunk[0], caption=caption,
                                        parse_mode=HTML)))
            continue
        # Annotated with aiogram's union: its `media` field is an invariant list of any kind of media.
        media: list[MediaUnion] = [
            InputMediaPhoto(media=p, caption=caption if i == 0 else None,
                            parse_mode=HTML if caption and i == 0 else None)
            for i, p in enumerate(chunk)
        ]
        calls.append(Call(SendMediaGroup(chat_id=chat_id, media=media), weight=len(chunk)))
    if reply.caption and (not caption_fits or not photos):
        calls += _say(Say(text=reply.caption), chat_id)
    return calls
