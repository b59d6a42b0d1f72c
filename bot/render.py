"""Channel-neutral replies -> Bot API calls (aiogram method objects), ready for the sender.

One reply can need several calls (a long text split in parts, an album of more than ten photos, a caption
too long for a photo). An edit carries a fallback: when the message to edit is gone, the same content is
sent as a new message.
"""

from __future__ import annotations

import html
import logging
import re
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


_MARKUP = re.compile(
    r"<(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"  # a tag, quotes may hold '>'
    r"|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"  # an entity or character reference
)


@dataclass(frozen=True, slots=True)
class _Atom:
    """The smallest piece of Telegram HTML a cut may not go through: a tag, a reference, or one character."""

    raw: str
    length: int  # what it adds to the message as Telegram counts it (UTF-16 code units after parsing)
    tag: str = ""  # the tag name, for tags
    closing: bool = False


def _atoms(text: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    position = 0
    for match in _MARKUP.finditer(text):
        atoms.extend(_Atom(char, 1 + (char > "\uffff")) for char in text[position:match.start()])
        raw = match.group()
        if raw.startswith("&"):
            atoms.append(_Atom(raw, utf16_length(html.unescape(raw))))
        else:
            atoms.append(_Atom(raw, 0, match.group("name").lower(), bool(match.group("close"))))
        position = match.end()
    atoms.extend(_Atom(char, 1 + (char > "\uffff")) for char in text[position:])
    return atoms


def telegram_length(text: str) -> int:
    """The length Telegram checks against its limits: the text after parsing the HTML, in UTF-16 code units."""
    if "<" not in text and "&" not in text:
        return utf16_length(text)
    return sum(atom.length for atom in _atoms(text))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` (as Telegram counts: `telegram_length`).

    Cuts go at the last line break that fits (the break itself is dropped), else at the last space in the
    second half, else at the limit; never inside a tag or a reference like &amp;. Tags open at a cut are
    closed at the end of the part and opened again, with their attributes, at the start of the next one, so
    every part is valid on its own and keeps its formatting. Parts with nothing but whitespace are left out.
    """
    if utf16_length(text) <= limit:  # tags and references only ever shrink what Telegram counts
        return [text]
    atoms = _atoms(text)
    parts: list[str] = []
    open_tags: list[_Atom] = []  # tags open where the next part starts
    start = 0
    while start < len(atoms):
        used, end, line_break, space = 0, start, -1, -1
        while end < len(atoms):
            atom = atoms[end]
            if used + atom.length > limit:
                break
            used += atom.length
            if atom.raw == "\n":
                line_break = end
            elif atom.raw == " " and used > limit // 2:
                space = end
            end += 1
        resume = end
        if end < len(atoms):
            if line_break > start:
                end, resume = line_break, line_break + 1
            elif space > start:
                end = resume = space + 1
            elif end == start:  # cannot happen with a sane limit; never loop forever
                end = resume = start + 1
        body, open_tags = _close_and_reopen(atoms[start:end], open_tags)
        if _visible(body):
            parts.append(body)
        start = resume
    return parts or [text]


def _close_and_reopen(atoms: list[_Atom], open_tags: list[_Atom]) -> tuple[str, list[_Atom]]:
    """The part's HTML (tags still open from before reopened, tags open at its end closed) and the tags open
    at its end."""
    stack = list(open_tags)
    pieces = [tag.raw for tag in stack]
    for atom in atoms:
        pieces.append(atom.raw)
        if atom.tag and atom.closing:
            if stack and stack[-1].tag == atom.tag:
                stack.pop()
        elif atom.tag:
            stack.append(atom)
    pieces.extend(f"</{tag.tag}>" for tag in reversed(stack))
    return "".join(pieces), stack


def _visible(part: str) -> bool:
    return bool(_MARKUP.sub(lambda m: "x" if m.group().startswith("&") else "", part).strip())


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
    fits = telegram_length(reply.caption) <= MAX_CAPTION
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
    caption_fits = telegram_length(reply.caption) <= MAX_CAPTION
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
