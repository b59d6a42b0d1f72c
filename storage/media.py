"""Media files under `Settings.media_path`: what an image is (by its bytes, never its name) and where web chat
uploads live.

A web visitor's upload is stored as `<media>/webchat/<visitor id>/<random name>` and referred to everywhere (the
inbound message's `photo_file_ids`, ticket attachments) by its file id `web:<visitor id>/<random name>`. The web
chat serves it only to that visitor, the console only to staff; both resolve the id here.
"""

from __future__ import annotations

import re
from pathlib import Path

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
