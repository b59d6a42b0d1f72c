"""Sessions, sign-in enforcement, role checks, CSRF and security headers.

- Encrypted session cookies (Fernet via aiohttp-session): HttpOnly, SameSite=Lax, Secure when the request came
  over HTTPS (directly or through a proxy that says X-Forwarded-Proto: https) or when forced by settings.
- Every route declares its roles (`context.requires`); a route without a declaration is refused, so a new page
  cannot be left open by mistake. The staff row is reloaded on every request: deactivation is immediate.
- CSRF: one random token per session, required on every POST/PUT/PATCH/DELETE as the `csrf_token` form
  field or the X-CSRF-Token header; compared in constant time.
- Server-side sessions: the cookie also carries a session token whose row (storage.services.staff_accounts) must
  still exist, so sign-out, a password change, deactivation and "sign out everywhere" end every copy at once.
- Sign-in under attack: `LoginLimiter` lets only a few attempts per address and per account run at a time in
  this process (a few more wait, the rest get 429 with Retry-After), and a database that is busy or away gives
  503 with Retry-After, never a 500.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from staff_console.context import SESSIONS_KEY, SETTINGS_KEY, STAFF_KEY, declared_roles, wants_json
from staff_console.i18n import N_, for_staff, translator
from storage.models import Staff
from storage.services import staff_accounts
from storage.settings import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "homedesk_console"
SESSION_MAX_AGE = int(staff_accounts.SESSION_LIFETIME.total_seconds())
BUSY_RETRY_AFTER = 5  # seconds, when the database is busy or away
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


async def start_staff_session(request: web.Request, staff: Staff, token: str) -> Session:
    """A fresh cookie session on sign-in (never reuse the pre-login one: session fixation), carrying the token
    of the server-side session (`staff_accounts.start_session`)."""
    session = await new_session(request)
    session["staff_id"] = staff.id
    session["sid"] = token
    session["csrf"] = secrets.token_urlsafe(32)
    return session


def session_token(session: Session) -> str:
    token = session.get("sid")
    return token if isinstance(token, str) else ""


async def signed_in_staff(request: web.Request, session: Session) -> Staff | None:
    """The staff member whose live server-side session this cookie carries, else None."""
    staff_id, token = session.get("staff_id"), session_token(session)
    if not isinstance(staff_id, int) or not token:
        return None
    async with request.app[SESSIONS_KEY]() as db_session:
        return await staff_accounts.session_owner(db_session, staff_id, token)


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
        _ = translator(request)
        return web.json_response({"error": _("sign in first")}, status=401)
    target = request.path_qs if request.path != "/" else "/"
    raise web.HTTPFound(f"/login?next={quote(target, safe='')}")


def is_transient_database_error(exc: BaseException) -> bool:
    """Busy, locked, out of pooled connections or disconnected: worth trying again in a moment."""
    if isinstance(exc, OperationalError | PoolTimeoutError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


BUSY = N_("The console is busy. Try again in a few seconds.")


def busy_response(request: web.Request, retry_after: int = BUSY_RETRY_AFTER, *, status: int = 503,
                  text: str = BUSY) -> web.Response:
    """Try again later, in the visitor's language (`text` is a message id). The staff row may be out of reach
    (the database is busy), so this answers in the language the session or the browser asks for."""
    text = translator(request)(text)
    if wants_json(request) or request.method != "GET":
        response = web.json_response({"error": text}, status=status)
    else:
        response = web.Response(text=text, status=status)
    response.headers["Retry-After"] = str(retry_after)
    return response


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:  # 404/405: let aiohttp answer
        return await handler(request)
    try:
        return await _checked(request, handler)
    except SQLAlchemyError as exc:
        if not is_transient_database_error(exc):
            raise
        # The database is busy or away: a slow "try again" beats a 500, and the next request may well succeed.
        log.warning("%s %s: database busy or unreachable (%s), answered 503", request.method, request.path,
                    type(exc).__name__)
        return busy_response(request)


async def _checked(request: web.Request, handler: Any) -> web.StreamResponse:
    roles = _roles_of(request)
    session = await get_session(request)
    if roles is not None:
        staff = await signed_in_staff(request, session)
        if staff is None:
            if session.get("staff_id") is not None:
                session.invalidate()
            return _deny_anonymous(request)
        if not isinstance(roles, tuple) or staff.role not in roles:  # False: undeclared, refused
            _ = for_staff(staff, request.app[SETTINGS_KEY])
            if wants_json(request) or request.method != "GET":
                return web.json_response({"error": _("not allowed for your role")}, status=403)
            raise web.HTTPForbidden(text=_("Not allowed for your role."))
        request[STAFF_KEY] = staff
    if request.method in UNSAFE_METHODS:
        expected = session.get("csrf")
        given = await submitted_csrf(request)
        if not expected or not given or not hmac.compare_digest(str(expected), given):
            _ = translator(request)
            return web.json_response({"error": _("The form has expired. Reload the page and try again.")},
                                     status=403)
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


class LoginBusy(Exception):
    """Too many sign-in attempts at once for this address or account (or overall) in this process."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Turns:
    semaphore: asyncio.Semaphore
    users: int = 0  # running and waiting


class LoginLimiter:
    """How many sign-in attempts run at once in this process: `per_key` per address and per account, `total` in
    all. Up to `queue_per_key` more per key wait their turn (a slow answer) for at most `wait_seconds`; beyond
    that an attempt is refused at once (`LoginBusy`, answered 429 with Retry-After). So one attacker cannot queue
    hundreds of attempts on the write gate, the connection pool and the hashing threads while staff sign in.
    The database counters (storage.services.auth) still decide lock-outs across processes; this only paces."""

    def __init__(self, *, per_key: int = 2, queue_per_key: int = 4, total: int = 8, queue_total: int = 64,
                 wait_seconds: float = 10.0, retry_after: int = 5) -> None:
        self.per_key, self.queue_per_key = per_key, queue_per_key
        self.queue_total, self.wait_seconds, self.retry_after = queue_total, wait_seconds, retry_after
        self._total = asyncio.Semaphore(total)
        self._waiting_total = 0
        self._keys: dict[str, _Turns] = {}

    def in_use(self) -> int:
        """Keys with attempts running or waiting (for tests: 0 once every attempt finished)."""
        return len(self._keys)

    @contextlib.asynccontextmanager
    async def turn(self, *keys: str) -> AsyncIterator[None]:
        joined: list[tuple[str, _Turns]] = []
        acquired: list[asyncio.Semaphore] = []
        try:
            for key in dict.fromkeys(keys):  # always in the caller's order (address, account): no deadlock
                turns = self._keys.get(key)
                if turns is None:
                    turns = self._keys[key] = _Turns(asyncio.Semaphore(self.per_key))
                if turns.users >= self.per_key + self.queue_per_key:
                    raise LoginBusy(self.retry_after)
                turns.users += 1
                joined.append((key, turns))
            if self._waiting_total >= self.queue_total:
                raise LoginBusy(self.retry_after)
            self._waiting_total += 1
            try:
                async with asyncio.timeout(self.wait_seconds):
                    for _, turns in joined:
                        await turns.semaphore.acquire()
                        acquired.append(turns.semaphore)
                    await self._total.acquire()
                    acquired.append(self._total)
            except TimeoutError:
                raise LoginBusy(self.retry_after) from None
            finally:
                self._waiting_total -= 1
            yield
        finally:
            for semaphore in acquired:
                semaphore.release()
            for key, turns in joined:
                turns.users -= 1
                if turns.users == 0 and self._keys.get(key) is turns:
                    del self._keys[key]
