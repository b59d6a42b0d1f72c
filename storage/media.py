"""Media: which photo references may be sent to customers (an http(s) link, or a file inside the media folder),
what an image is, and where web chat uploads live.

One check, used in three places: the listing import, the console's listing form, and the bot when it turns a
stored reference into an upload. The last is defence in depth: a row stored before the check existed, or a link
inside the media folder changed since, still cannot send a server file to Telegram.

A local reference is resolved first (relative ones against the media folder, never the working directory), then
checked: the resolved file must be a regular file inside the resolved media folder, so neither `..` nor a
symbolic link leads out of it. Reasons never include the reference or anything read from a file, so they are
safe to log.

What an image is, by its bytes and never its name (`image_kind`), and where the web chat keeps what visitors upload:
`<media>/webchat/<visitor id>/<random name>`, referred to everywhere (the inbound message's `photo_file_ids`,
ticket attachments) by its file id `web:<visitor id>/<random name>`. The web chat serves an upload only to that
visitor, the console only to staff; both resolve the id here.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

MAX_PHOTO_REFERENCE = 512  # ListingPhoto.url
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_FILE_ID = re.compile(r"[A-Za-z0-9_-]+")  # Telegram file ids are URL-safe base64
_LINKS = ("http", "https")


class PhotoError(ValueError):
    """A reference that must not be sent; the message says why (without the reference itself)."""


def check_photo(value: str, media_dir: Path, *, file_id: bool = False) -> str | Path:
    """A link as given, or the resolved path of a regular file inside `media_dir`; PhotoError otherwise.

    With `file_id`, a Telegram file id (what the bot's photo cache holds) is also passed on as given, when no file
    inside the media folder has that name.
    """
    value = value.strip()
    if not value:
        raise PhotoError("is empty")
    if len(value) > MAX_PHOTO_REFERENCE:
        raise PhotoError(f"is longer than {MAX_PHOTO_REFERENCE} characters")
    if _CONTROL.search(value):
        raise PhotoError("contains control characters")
    if _SCHEME.match(value):
        return _link(value)
    try:
        return _media_file(value, media_dir)
    except PhotoError:
        if file_id and _FILE_ID.fullmatch(value):
            return value
        raise


def resolve_photo(value: str, media_dir: Path, *, file_id: bool = False) -> str | Path | None:
    """`check_photo`, with None for a reference that must not be sent."""
    try:
        return check_photo(value, media_dir, file_id=file_id)
    except PhotoError:
        return None


def _link(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise PhotoError("is not a valid link") from None
    if parts.scheme.lower() not in _LINKS:
        raise PhotoError("is neither an http(s) link nor a file in the media folder")
    if not parts.hostname or any(char.isspace() for char in value):
        raise PhotoError("is not a valid link")
    return value


def _media_file(value: str, media_dir: Path) -> Path:
    path = Path(value)
    if ".." in path.parts:
        raise PhotoError("must not contain '..'")
    candidate = path if path.is_absolute() else media_dir / path
    # Absolute media_dir as configured, and with its own links resolved: a path may name it either way.
    written, media = Path(os.path.abspath(media_dir)), media_dir.resolve()
    # Outside the folder as written: refused before the file system is asked, so the answer says nothing
    # about which server files exist.
    lexical = Path(os.path.abspath(candidate))
    if not (lexical.is_relative_to(written) or lexical.is_relative_to(media)):
        raise PhotoError("is outside the media folder")
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise PhotoError("is not a file in the media folder") from None
    if not resolved.is_relative_to(media):
        raise PhotoError("leads outside the media folder")
    if not resolved.is_file():
        raise PhotoError("is not a file in the media folder")
    return resolved

WEB_FILE_PREFIX = "web:"
WEB_UPLOADS = "webchat"  # folder under the media path
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "gif": ".gif", "webp": ".webp"}
_SAFE_PART = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{8,64}\.(jpg|png|gif|webp)$")


def image_kind(head: bytes) -> str | None:
    """'jpeg', 'png', 'gif' or 'webp' from the file's first bytes; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


LISTING_UPLOADS = "listings"  # folder under the media path for photos staff upload on the listing form


def store_listing_photo(media_path: Path, data: bytes, limit: int = 10 * 1024 * 1024) -> str:
    """Keep an uploaded listing photo in the media folder under a random name; returns its path relative to the
    media folder (what a listing photo stores). PhotoError for a file that is not a JPEG/PNG/GIF/WebP image or is
    too large."""
    kind = image_kind(data[:16])
    if kind is None:
        raise PhotoError("is not a JPEG, PNG, GIF or WebP image")
    if len(data) > limit:
        raise PhotoError("is too large")
    folder = media_path / LISTING_UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(12)}{EXTENSIONS[kind]}"
    (folder / name).write_bytes(data)
    return f"{LISTING_UPLOADS}/{name}"


def web_file_id(visitor_id: str, name: str) -> str:
    if not _SAFE_PART.match(visitor_id) or not _SAFE_NAME.match(name):
        raise ValueError("not a web upload name")
    return f"{WEB_FILE_PREFIX}{visitor_id}/{name}"


def web_file_owner(file_id: str) -> str | None:
    """The visitor id a web upload belongs to; None when this is not a well-formed web file id."""
    if not file_id.startswith(WEB_FILE_PREFIX):
        return None
    visitor_id, _, name = file_id[len(WEB_FILE_PREFIX):].partition("/")
    if not _SAFE_PART.match(visitor_id) or not _SAFE_NAME.match(name):
        return None
    return visitor_id


def web_upload_path(media_path: Path, file_id: str) -> Path | None:
    """Where a web upload is stored; None for an id that is not a well-formed web file id."""
    if web_file_owner(file_id) is None:
        return None
    visitor_id, _, name = file_id[len(WEB_FILE_PREFIX):].partition("/")
    return media_path / WEB_UPLOADS / visitor_id / name


def read_web_upload(media_path: Path, file_id: str, limit: int = 20 * 1024 * 1024) -> tuple[bytes, str] | None:
    """The bytes and content type of a stored web upload, or None when it is missing or not an image."""
    path = web_upload_path(media_path, file_id)
    if path is None or not path.is_file():
        return None
    data = path.read_bytes()[:limit + 1]
    kind = image_kind(data[:16])
    if kind is None or len(data) > limit:
        return None
    return data, IMAGE_TYPES[kind]
