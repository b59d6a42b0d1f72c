"""The web chat's JSON protocol over the WebSocket.

Browser -> server (one JSON object per frame, at most MAX_FRAME characters; `ref` is an optional string the
page chooses and gets back in the answer's `ref`):
  {"type": "hello", "token": "<visitor token>"|null, "last_seen": <message id>, "lang": "en"|"zh"}   first frame
  {"type": "text", "text": "..."}                    a message (a leading /command is a command, as in Telegram)
  {"type": "press", "token": "...", "message": <id>} a button of message <id>
  {"type": "phone", "phone": "+86 138 ..."}          the phone field (the web's share-contact element)
  {"type": "location", "lat": 39.9, "lon": 116.4}    the browser's location
  {"type": "photo", "upload": "<name>", "caption": "..."}   a photo uploaded before with POST /chat/upload
  {"type": "start"}                                  a first visit: the bot says hello
  {"type": "lang", "lang": "zh"}                     the page's language switch
  {"type": "ping", "last_seen": <message id>}        keep-alive; anything missed since is sent again
  {"type": "typing"}                                 the visitor is typing (the page sends it at most every
                                                     TYPING_EVERY seconds while they type); no answer. The server
                                                     passes at most one per visitor per TYPING_EVERY seconds on to
                                                     the agent, and only while a person owns the conversation

Server -> browser:
  {"type": "welcome", "token": "...", "visitor": "...", "lang": "zh"|null, "items": [...]}
      items: what the visitor missed since last_seen (all of the recent transcript when last_seen is 0), oldest
      first: message frames, and {"type": "mine", ...} for what the visitor sent themselves (a fresh page only)
  {"type": "message", "id": <id>, "edit": <id of the message it replaces>|null, "from": "bot"|"agent"|"system",
   "name": "<agent>"|null, "reply": {...}}           a reply, rendered by bot.webchat.render
  {"type": "ack", "ref": ...}                        the frame was handled (its replies came before)
  {"type": "notice", "text": "..."}                  a button's short answer
  {"type": "error", "code": "...", "text": "...", "ref": ...}   the frame was refused; the connection stays
  {"type": "pong"}
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from dialogs.replies import MAX_TOKEN_BYTES

MAX_FRAME = 16 * 1024  # characters of one frame from a browser (the transport allows more, then closes)
MAX_TEXT = 4000
MAX_CAPTION = 1000
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,30}$")
_UPLOAD = re.compile(r"^[A-Za-z0-9_-]{8,64}\.(jpg|png|gif|webp)$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.S)
_REF = 40
TYPING_EVERY = 3.0  # seconds between two "typing" frames of a page (chat.js), and between two events to staff


class FrameError(Exception):
    """A refused frame; `code` names the reason (bot.webchat.texts.ERRORS)."""

    def __init__(self, code: str, ref: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.ref = ref


@dataclass(frozen=True)
class Frame:
    type: str
    ref: str | None = None


@dataclass(frozen=True)
class Hello(Frame):
    token: str | None = None
    last_seen: int = 0
    lang: str | None = None


@dataclass(frozen=True)
class Text(Frame):
    text: str = ""


@dataclass(frozen=True)
class Command(Frame):
    name: str = ""


@dataclass(frozen=True)
class Press(Frame):
    token: str = ""
    message: int = 0


@dataclass(frozen=True)
class Phone(Frame):
    phone: str = ""


@dataclass(frozen=True)
class Place(Frame):
    lat: float = 0.0
    lon: float = 0.0


@dataclass(frozen=True)
class PhotoUpload(Frame):
    upload: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Language(Frame):
    lang: str = "en"


@dataclass(frozen=True)
class Ping(Frame):
    last_seen: int = 0


@dataclass(frozen=True)
class Typing(Frame):
    pass


def _int(value: Any, ref: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise FrameError("bad_frame", ref)
    return value


def _str(value: Any, ref: str | None, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        raise FrameError("too_large" if isinstance(value, str) and len(value) > limit else "bad_frame", ref)
    return value


def _float(value: Any, ref: str | None, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or abs(value) > bound:
        raise FrameError("bad_frame", ref)
    return float(value)


def parse(raw: object) -> Frame:
    """One browser frame, checked; FrameError for anything else."""
    if not isinstance(raw, str):
        raise FrameError("bad_frame")
    if len(raw) > MAX_FRAME:
        raise FrameError("too_large")
    try:
        body = json.loads(raw)
    except ValueError:
        raise FrameError("bad_frame") from None
    if not isinstance(body, dict):
        raise FrameError("bad_frame")
    ref = body.get("ref")
    ref = ref[:_REF] if isinstance(ref, str) else None
    kind = body.get("type")
    if kind == "hello":
        token = body.get("token")
        lang = body.get("lang")
        return Hello("hello", ref, token if isinstance(token, str) else None, _int(body.get("last_seen", 0), ref),
                     lang if lang in ("en", "zh") else None)
    if kind == "text":
        text = _str(body.get("text"), ref, MAX_TEXT).strip()
        command = _COMMAND.match(text)
        if command:  # as in Telegram; deep-link arguments are Telegram's alone and ignored here
            return Command("command", ref, command.group(1).lower())
        return Text("text", ref, text)
    if kind == "press":
        token = _str(body.get("token"), ref, 200)
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise FrameError("forged", ref)
        return Press("press", ref, token, _int(body.get("message"), ref))
    if kind == "phone":
        phone = _str(body.get("phone"), ref, 40).strip()
        if not _PHONE.match(phone):
            raise FrameError("bad_frame", ref)
        return Phone("phone", ref, phone)
    if kind == "location":
        return Place("location", ref, _float(body.get("lat"), ref, 90), _float(body.get("lon"), ref, 180))
    if kind == "photo":
        upload = _str(body.get("upload"), ref, 80)
        if not _UPLOAD.match(upload):
            raise FrameError("forged", ref)
        caption = _str(body.get("caption", ""), ref, MAX_CAPTION, empty=True).strip()
        return PhotoUpload("photo", ref, upload, caption)
    if kind == "start":
        return Command("command", ref, "start")
    if kind == "lang":
        lang = body.get("lang")
        if lang not in ("en", "zh"):
            raise FrameError("bad_frame", ref)
        return Language("lang", ref, lang)
    if kind == "ping":
        return Ping("ping", ref, _int(body.get("last_seen", 0), ref))
    if kind == "typing":
        return Typing("typing", ref)
    raise FrameError("bad_frame", ref)
