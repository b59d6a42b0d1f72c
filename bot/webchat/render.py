"""Channel-neutral replies (the outbox payload) -> what the chat page draws.

Texts stay in the dialogs' Telegram-subset HTML (b, i, u, s, code, pre, a, blockquote, spoiler; every customer
value already escaped); the page builds them with a whitelist walker, never as raw markup. Photos become
references the page can load: files under MEDIA_DIR get a signed `/chat/media/<ref>` URL (a visitor's own uploads
are marked private: the page fetches those with its visitor token), web links are offered as links (the page loads
nothing from the internet), anything else (a Telegram file id) is shown as unavailable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.webchat.visitors import VisitorKeys
from storage.media import WEB_FILE_PREFIX, WEB_UPLOADS, resolve_photo, web_upload_path

MEDIA_ROUTE = "/chat/media/"


class WebRenderer:
    def __init__(self, media_root: Path, keys: VisitorKeys) -> None:
        self.media_root = media_root.resolve()
        self.keys = keys
        self._local = lru_cache(maxsize=4096)(self._local_uncached)

    def _local_uncached(self, photo: str) -> str | None:
        """The path under the media folder (relative, '/'-separated) of a local file; None when it is not one."""
        if photo.startswith(WEB_FILE_PREFIX):
            path = web_upload_path(self.media_root, photo)
        else:  # relative references against the media folder; nothing outside it (storage.media)
            found = resolve_photo(photo, self.media_root)
            path = found if isinstance(found, Path) else None
        if path is None:
            return None
        try:
            resolved = path.resolve()
            relative = resolved.relative_to(self.media_root)
        except (OSError, ValueError, RuntimeError):
            return None
        return relative.as_posix() if resolved.is_file() else None

    def photo(self, photo: Any) -> dict[str, Any]:
        if not isinstance(photo, str) or not photo:
            return {"missing": True}
        if photo.startswith(("https://", "http://")):
            return {"link": photo}
        relative = self._local(photo)
        if relative is None:
            return {"missing": True}
        shown: dict[str, Any] = {"src": MEDIA_ROUTE + self.keys.media_ref(relative)}
        if relative.startswith(WEB_UPLOADS + "/"):
            shown["private"] = True
        return shown

    def reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload.get("kind")
        choices = [[{"label": str(button.get("label", "")), "token": str(button.get("token", ""))}
                    for button in line if isinstance(button, dict)]
                   for line in payload.get("choices") or [] if isinstance(line, list)]
        if kind == "say":
            return {"kind": "text", "html": str(payload.get("text", "")), "choices": choices,
                    "close_ask": bool(payload.get("remove_keyboard"))}
        if kind == "photo":
            return {"kind": "photos", "photos": [self.photo(payload.get("photo"))],
                    "html": str(payload.get("caption", "")), "choices": choices}
        if kind == "album":
            return {"kind": "photos", "photos": [self.photo(p) for p in payload.get("photos") or []],
                    "html": str(payload.get("caption", "")), "choices": []}
        if kind == "location":
            return {"kind": "location", "lat": payload.get("latitude"), "lon": payload.get("longitude")}
        if kind in ("ask_contact", "ask_location"):
            return {"kind": "ask_phone" if kind == "ask_contact" else "ask_location",
                    "html": str(payload.get("text", "")), "button": str(payload.get("button", "")),
                    "cancel": str(payload.get("cancel", ""))}
        return {"kind": "text", "html": "", "choices": []}

    def message(self, row_id: int, payload: dict[str, Any], sender: str, staff_name: str | None) -> dict[str, Any]:
        edit = payload.get("edit_message_id") if payload.get("edit") else None
        return {"type": "message", "id": row_id, "edit": edit if isinstance(edit, int) else None,
                "from": sender if sender in ("agent", "system") else "bot",
                "name": staff_name if sender == "agent" else None, "reply": self.reply(payload)}

    def mine(self, message_id: int, kind: str, text: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Something the visitor sent, for a page that shows the transcript afresh (plain text, never markup)."""
        frame: dict[str, Any] = {"type": "mine", "id": message_id, "kind": kind, "text": text}
        if kind == "photo":
            frame["photos"] = [self.photo(file_id) for file_id in (payload.get("photo_file_ids") or [])[-1:]]
            frame["text"] = "" if text == "[photo]" else text
        elif kind == "contact":
            frame["text"] = str(payload.get("phone") or "")
        elif kind == "location":
            lat, lon = (payload.get("location") or [None, None])[:2]
            frame.update(text="", lat=lat, lon=lon)
        return frame
