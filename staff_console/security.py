"""Sessions, sign-in enforcement, role checks, CSRF and security headers.

- Encrypted session cookies (Fernet via aiohttp-session): HttpOnly, SameSite=Lax, Secure when the request came
  over HTTPS (directly or through a proxy that says X-Forwarded-Proto: https) or when forced by settings.
- Every route declares its roles (`context.requires`); a route without a declaration is refused, so a new page
  cannot be left open by mistake. The staff row is reloaded on every request: deactivation is immediate.
- CSRF: one random token per session, required on every POST/PUT/PATCH/DELETE as the `csrf_token` form
  field or the X-CSRF-Token header; compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from typing import Literal
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from staff_console.context import SESSIONS_KEY, SETTINGS_KEY, STAFF_KEY, declared_roles, wants_json
from storage.models import Staff
from storage.settings import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "homedesk_console"
SESSION_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_key(settings: Settings) -> Fernet:
    """The cookie key: CONSOLE_SECRET (32 url-safe base64 bytes) or a fresh key for this process."""
    if settings.console_secret is None:
        log.warning("CONSOLE_SECRET is not set: sessions are signed with a key made for this process, "
                    "so staff must sign in again after a restart and several consoles cannot share sessions")
        return Fernet(Fernet.generate_key())
    raw = settings.console_secret.get_secret_value().strip()
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("CONSOLE_SECRET: must be 32 bytes in url-safe base64") from exc
    if len(decoded) != 32:
        raise ValueError("CONSOLE_SECRET: must be 32 bytes in url-safe base64 (generate one with "
                         "python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())')")
    return Fernet(base64.urlsafe_b64encode(decoded))


def is_https(request: web.Request) -> bool:
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" or request.secure


class ConsoleCookieStorage(EncryptedCookieStorage):
    """Encrypted cookie whose Secure flag follows the request's scheme."""

    def __init__(self, key: Fernet, *, force_secure: bool) -> None:
        super().__init__(key, cookie_name=COOKIE_NAME, max_age=SESSION_MAX_AGE, httponly=True, samesite="Lax",
                         secure=force_secure)
        self._force_secure = force_secure

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        # No await between setting the flag and writing the cookie, so concurrent requests cannot mix it up.
        self._cookie_params["secure"] = self._force_secure or is_https(request)
        await super().save_session(request, response, session)


def csrf_token(session: Session) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


async def start_staff_session(request: web.Request, staff: Staff) -> Session:
    """A fresh session on sign-in (never reuse the pre-login one: session fixation)."""
    session = await new_session(request)
    session["staff_id"] = staff.id
    session["csrf"] = secrets.token_urlsafe(32)
    return session


async def submitted_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _roles_of(request: web.Request) -> tuple[str, ...] | None | Literal[False]:
    """The handler's declared roles; None = public; False = undeclared (refused)."""
    roles = declared_roles(request.match_info.handler)
    if roles is False and request.match_info.http_exception is None:
        route = request.match_info.route
        if getattr(route, "resource", None) is not None and type(route.resource).__name__ == "StaticResource":
            return None
    return roles


def _deny_anonymous(request: web.Request) -> web.StreamResponse:
    if wants_json(request) or request.method != "GET" or request.path == "/ws":
        return web.json_response({"error": "sign in first"}, status=401)
    target = request.path_qs if request.path != "/" else "/"
    raise web.HTTPFound(f"/login?next={quote(target, safe='')}")


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:  # 404/405: let aiohttp answer
        return await handler(request)
    roles = _roles_of(request)
    session = await get_session(request)
    if roles is not None:
        staff_id = session.get("staff_id")
        staff: Staff | None = None
        if isinstance(staff_id, int):
            async with request.app[SESSIONS_KEY]() as db_session:
                staff = await db_session.get(Staff, staff_id)
        if staff is None or not staff.is_active:
            if staff_id is not None:
                session.invalidate()
            return _deny_anonymous(request)
        if roles is False or staff.role not in roles:
            if wants_json(request) or request.method != "GET":
                return web.json_response({"error": "not allowed for your role"}, status=403)
            raise web.HTTPForbidden(text="Not allowed for your role.")
        request[STAFF_KEY] = staff
    if request.method in UNSAFE_METHODS:
        expected = session.get("csrf")
        given = await submitted_csrf(request)
        if not expected or not given or not hmac.compare_digest(str(expected), given):
            return web.json_response({"error": "missing or invalid CSRF token"}, status=403)
    return await handler(request)


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _harden(response, request)
        raise
    _harden(response, request)
    return response


def _harden(response: web.StreamResponse, request: web.Request) -> None:
    if response.prepared:  # websockets and streamed files already sent their headers
        return
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if is_https(request):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")


def same_origin(request: web.Request) -> bool:
    """WebSocket handshakes carry the page's Origin; only our own pages may open the live channel."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower() and parts.scheme in ("http", "https")


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS_KEY]
