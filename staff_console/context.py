"""What every console module needs: typed application keys, the signed-in staff member, navigation entries, and
`act(request)`, the one way a request changes something."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.addresses import client_address
from storage.events import EventBus
from storage.models import Staff
from storage.settings import Settings
from storage.unit_of_work import Actor, Work, Workplace
from storage.vocabulary import STAFF_ROLES

SETTINGS_KEY = web.AppKey("settings", Settings)
SESSIONS_KEY = web.AppKey("sessions", async_sessionmaker[AsyncSession])
BUS_KEY = web.AppKey("bus", EventBus)
WORKPLACE_KEY = web.AppKey("workplace", Workplace)
NAV_KEY = web.AppKey("nav", list)
STAFF_KEY = web.RequestKey("staff", Staff)  # the signed-in Staff row, loaded fresh on every request

ALL_ROLES = STAFF_ROLES
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Form = MultiDictProxy[str | bytes | bytearray | web.FileField]  # what `await request.post()` gives
# The roles a handler declared ride on the function itself, where the security middleware reads them back
# (a function has no declared attributes, hence setattr).
ROLES_ATTRIBUTE = "__roles__"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: tuple[str, ...] = ALL_ROLES
    order: int = 100


def settings(request: web.Request) -> Settings:
    return request.app[SETTINGS_KEY]


def db(request: web.Request) -> async_sessionmaker[AsyncSession]:
    return request.app[SESSIONS_KEY]


def staff(request: web.Request) -> Staff:
    """The signed-in staff member (the role check already ran)."""
    return request[STAFF_KEY]


def act(request: web.Request) -> AbstractAsyncContextManager[Work]:
    """One unit of work for this request, for the signed-in staff member (the system before sign-in), with the
    browser's address for the audit. Committed when the block ends; the events services appended are
    published after that, so every console reads committed data.

        async with act(request) as work:
            await handoff.take_over(work, conversation_id)
    """
    me = request.get(STAFF_KEY)
    actor = Actor.staff(me.id) if me is not None else Actor.system()
    # A person waits on the click: it goes ahead of customers' updates queued at SQLite's write gate.
    return request.app[WORKPLACE_KEY].open(actor, ip=client_ip(request), ahead=True)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Declare which roles may use a handler. Handlers without a declaration are refused (fail closed)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def mark(handler: Handler) -> Handler:
        setattr(handler, ROLES_ATTRIBUTE, tuple(roles))
        return handler

    return mark


def declared_roles(handler: object) -> tuple[str, ...] | None | Literal[False]:
    """What `requires` or `public` put on a handler: its roles, None when public, False when it declared nothing."""
    if not hasattr(handler, ROLES_ATTRIBUTE):
        return False
    roles: tuple[str, ...] | None = getattr(handler, ROLES_ATTRIBUTE)
    return roles


def public(handler: Handler) -> Handler:
    """Reachable without signing in (login page, health check, static files)."""
    setattr(handler, ROLES_ATTRIBUTE, None)
    return handler


def add_nav(app: web.Application, *items: NavItem) -> None:
    app[NAV_KEY].extend(items)
    app[NAV_KEY].sort(key=lambda item: (item.order, item.label))


def client_ip(request: web.Request) -> str:
    """The browser's address, for the audit and the per-address login throttle.

    X-Forwarded-For is believed only when the connection comes from one of TRUSTED_PROXIES (none by default), and
    then only as far as the proxies vouch for it: the right-most address that is not itself a trusted proxy. A
    client connecting directly, or one writing its own X-Forwarded-For, cannot pick its address (the rule is
    storage.addresses.client_address, shared with the web chat)."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", ()),
                          request.app[SETTINGS_KEY].trusted_proxy_networks)


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.path.startswith("/api/")


def to_int(value: Any, default: int | None = None) -> int | None:
    """A whole number from a URL or a form (whatever the browser sent), or `default`. Numbers a BIGINT column
    cannot hold are refused here: the database driver would fail the whole request on them."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if -(2**63) <= number < 2**63 else default


def path_id(request: web.Request, name: str) -> int:
    """The id in the address (`/tickets/{ticket_id}`); an address no row can have is not found."""
    value = to_int(request.match_info[name])
    if value is None or value < 1:
        raise web.HTTPNotFound()
    return value


async def flash(request: web.Request, text: str, kind: str = "info") -> None:
    """A one-time message shown on the next page."""
    from aiohttp_session import get_session

    session = await get_session(request)
    session["flash"] = [*session.get("flash", []), [kind, text]][-5:]


def local_path(target: str | None, fallback: str = "/") -> str:
    """Only redirect to our own pages. Browsers drop control characters (tab, newline...) from a Location and
    read a backslash as a slash, so `/%09/evil.example` (a tab once decoded) and slash-backslash-host both mean
    `//evil.example`: another site. The target is normalised the same way first; anything that then is not a
    plain path (`//host`, a scheme, a host) gives the fallback. What remains is percent-encoded for the header."""
    if not target:
        return fallback
    cleaned = "".join(ch for ch in target if unicodedata.category(ch) != "Cc").replace("\\", "/").strip()
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return fallback
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return fallback
    return quote(cleaned, safe="/?&=%#:@!$'()*+,;~-._[]")
