"""Signed identities: the visitor token a browser keeps (localStorage and a cookie, inside the widget's iframe too)
and the references of the media files a page may show.

The key is derived from CONSOLE_SECRET, so tokens survive restarts and every instance behind a load balancer
accepts them; without CONSOLE_SECRET a key is made for this process (visitors then start afresh after a restart).
A token is `<visitor id>.<HMAC of it>`: a browser cannot make up another visitor's token, and the visitor id in it
is the customer's identity in the web channel (`customers.web_visitor_id`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets

from storage.settings import Settings

log = logging.getLogger(__name__)
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_TOKEN = 120


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VisitorKeys:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"homedesk web chat v1", hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> VisitorKeys:
        if settings.console_secret is None:
            log.warning("CONSOLE_SECRET is not set: web chat visitor tokens are signed with a key made for this "
                        "process, so visitors start a new conversation after a restart")
            return cls(secrets.token_bytes(32))
        return cls(settings.console_secret.get_secret_value().strip().encode())

    def _sign(self, purpose: bytes, value: str, length: int = 32) -> str:
        return _b64(hmac.new(self._key, purpose + b"\0" + value.encode(), hashlib.sha256).digest())[:length]

    # -- visitors -----------------------------------------------------------------------------------------------

    def new_visitor(self) -> tuple[str, str]:
        """(visitor id, token) for a browser seen for the first time."""
        visitor_id = secrets.token_urlsafe(16)
        return visitor_id, self.token(visitor_id)

    def token(self, visitor_id: str) -> str:
        return f"{visitor_id}.{self._sign(b'visitor', visitor_id)}"

    def visitor_of(self, token: object) -> str | None:
        """The visitor id inside a token we signed; None for anything else (missing, malformed, forged)."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN:
            return None
        visitor_id, _, signature = token.partition(".")
        if not _VISITOR_ID.match(visitor_id) or not signature:
            return None
        if not hmac.compare_digest(signature, self._sign(b"visitor", visitor_id)):
            return None
        return visitor_id

    # -- media references ---------------------------------------------------------------------------------------

    def media_ref(self, relative_path: str) -> str:
        """An unguessable reference to a file under the media folder, valid for exactly that file."""
        encoded = _b64(relative_path.encode())
        return f"{encoded}.{self._sign(b'media', relative_path, 22)}"

    def media_path_of(self, ref: str) -> str | None:
        encoded, _, signature = ref.partition(".")
        if not encoded or not signature or len(ref) > 1024:
            return None
        try:
            relative = _unb64(encoded).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, self._sign(b"media", relative, 22)):
            return None
        return relative
