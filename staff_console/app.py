"""Build the console's aiohttp application.

`create_app(settings=, sessions=, bus=, workplace=)` is what `homedesk run` serves; every request that changes
something opens a unit of work from the workplace (`staff_console.context.act`). Pages live in
`staff_console/routes/`, one module per area, each with `setup(app)` (routes) and optional `NAV` entries;
ROUTE_MODULES lists them. Periodic work (the handoff tick among it) is scheduled by `homedesk`, not here.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions
from babel.messages.extract import extract
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import NOTICES
from staff_console import cards, errors, i18n, live, telegram_files
from staff_console.context import (
    BUS_KEY,
    NAV_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    STAFF_KEY,
    WORKPLACE_KEY,
    add_nav,
    local_path,
    public,
)
from staff_console.i18n import Translator, translator
from staff_console.live import sent_photo
from staff_console.security import (
    ConsoleCookieStorage,
    csrf_token,
    headers_middleware,
    security_middleware,
    session_key,
)
from staff_console.text import display_text
from staff_console.words import table, word
from storage.events import EventBus
from storage.gate import WriteGate
from storage.settings import Settings
from storage.unit_of_work import Workplace

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# One module per area; a new area is a module in staff_console/routes/ plus one line here.
ROUTE_MODULES = [
    "staff_console.routes.auth",
    "staff_console.routes.inbox",
    "staff_console.routes.conversations",
    "staff_console.routes.customers",
    "staff_console.routes.entered",
    "staff_console.routes.listings",
    "staff_console.routes.owners",
    "staff_console.routes.viewings",
    "staff_console.routes.canned",
    "staff_console.routes.faq",
    "staff_console.routes.units",
    "staff_console.routes.staff_admin",
    "staff_console.routes.staff_profiles",
    "staff_console.routes.profile",
    "staff_console.routes.live",
    "staff_console.routes.tickets",
    "staff_console.routes.notices",
    "staff_console.routes.deals",
    "staff_console.routes.reports",
    "staff_console.routes.dead_letters",
    "staff_console.routes.language",
]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

__all__ = ["create_app", "SETTINGS_KEY", "SESSIONS_KEY", "BUS_KEY", "WORKPLACE_KEY"]


@public
async def healthz(request: web.Request) -> web.Response:
    db_ok = True
    try:
        async with request.app[SESSIONS_KEY]() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; the reason goes to the log, not the probe
        log.exception("health check: database unreachable")
        db_ok = False
    status = 200 if db_ok else 503
    return web.json_response({"status": "ok" if db_ok else "error", "db": db_ok}, status=status)


async def _template_context(request: web.Request) -> dict[str, Any]:
    staff = request.get(STAFF_KEY)
    session = await get_session(request)
    tr = translator(request)
    nav = [item for item in request.app[NAV_KEY] if staff is not None and staff.role in item.roles]
    flashes = session.pop("flash", []) if staff is not None or request.path == "/login" else []
    return {"me": staff, "nav": nav, "csrf": csrf_token(session), "path": request.path,
            "here": _here(request),
            "tr": tr, "lang": tr.lang, "tz": tr.tz, "flashes": flashes, "autonyms": i18n.AUTONYMS,
            "script_texts": script_texts(tr)}


def _here(request: web.Request) -> str:
    """Where the language switch comes back to: this page (its `next` made safe, as sign-in makes it safe)."""
    if request.method != "GET":
        return "/"
    query = [(key, local_path(value) if key == "next" else value) for key, value in request.query.items()]
    return request.path + ("?" + urlencode(query) if query else "")


# What console.js says, found in it with Babel's JavaScript extractor (the same one that fills the catalogue),
# and the stored codes its live rows name; each page carries them in its language.
SCRIPT = HERE / "static" / "console.js"
SCRIPT_WORDS = ("conversation_mode", "conversation_status", "handoff_reason", "language", "channel", "delivery",
                "sender", "team")


@cache
def script_messages() -> tuple[str, ...]:
    with SCRIPT.open("rb") as handle:
        found = [message for _, message, _, _ in extract("javascript", handle, keywords={"_": None})]
    return tuple(dict.fromkeys(m if isinstance(m, str) else m[0] for m in found if m))


def script_texts(tr: Translator) -> dict[str, Any]:
    return {"lang": tr.html_lang, "timeZone": getattr(tr.tz, "key", "UTC"),
            "messages": {m: tr.gettext(m) for m in script_messages()} if tr.lang != i18n.SOURCE_LANGUAGE else {},
            "words": {kind: table(tr, kind) for kind in SCRIPT_WORDS}}


def _tr(context: Context) -> Translator:
    value = context.get("tr")
    if isinstance(value, Translator):
        return value
    return Translator(i18n.SOURCE_LANGUAGE, context.get("tz") or UTC)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _tr(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _tr(context).raw_ngettext(singular, plural, count)


@pass_context
def _localtime(context: Context, value: datetime | None, tz: tzinfo | None = None, style: str = "medium") -> str:
    """A moment in the staff member's time zone and locale (`tz` is accepted for older templates; the staff
    member's own zone wins)."""
    return _tr(context).datetime(value, style)


@pass_context
def _date(context: Context, value: date | datetime | None, skeleton: str = "yMMMd") -> str:
    return _tr(context).date(value, skeleton)


@pass_context
def _time(context: Context, value: datetime | None, seconds: bool = False) -> str:
    return _tr(context).time(value, seconds)


@pass_context
def _money(context: Context, amount: Decimal | float | None, currency: str | None = "CNY") -> str:
    return _tr(context).money(amount, currency)


@pass_context
def _price(context: Context, listing: Any) -> str:
    """A listing's price as people write it (a rent per month; a sale in 万 for Chinese readers)."""
    return _tr(context).price(listing.price, listing.currency, listing.deal_type)


@pass_context
def _number(context: Context, value: float | int | Decimal | None, digits: int = 1) -> str:
    return _tr(context).number(value, digits)


@pass_context
def _percent(context: Context, value: float | int | None) -> str:
    return _tr(context).percent(value)


@pass_context
def _minutes(context: Context, value: float | int | None) -> str:
    return _tr(context).minutes(value)


@pass_context
def _word(context: Context, value: object, kind: str) -> str:
    return word(_tr(context), kind, value)


@pass_context
def _district(context: Context, name: str | None) -> str:
    """A district's name as staff read it (the routes that show districts put the names in the context)."""
    return context.get(cards.DISTRICTS_KEY, {}).get(name, name) if name else ""


@pass_context
def _service_message(context: Context, text: str) -> str:
    return errors.service_message(_tr(context), str(text))


@pass_context
def _need_lines(context: Context, criteria: dict[str, Any]) -> list[str]:
    return cards.need_lines(_tr(context), criteria or {}, context.get(cards.DISTRICTS_KEY, {}))


def _setup_i18n(env: jinja2.Environment) -> None:
    """Jinja2's i18n extension with "new style" gettext (`{{ _("Hello %(name)s", name=x) }}` escapes x), its
    translations taken from each page's staff member (`tr` in the context), and the locale-aware filters."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update({"localtime": _localtime, "datetime": _localtime, "date": _date, "time": _time,
                        "money": _money, "price": _price, "number": _number, "percent": _percent, "minutes": _minutes,
                        "word": _word, "district": _district,
                        "service_message": _service_message})
    env.globals["need_lines"] = _need_lines


def create_app(
    *, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus,
    workplace: Workplace | None = None,
) -> web.Application:
    """The console. `workplace` is the process's shared one (its write gate queues SQLite writers across the bot
    and the console); without it the console builds its own on `sessions` and `bus`."""
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[SETTINGS_KEY] = settings
    app[SESSIONS_KEY] = sessions
    app[BUS_KEY] = bus
    app[WORKPLACE_KEY] = workplace or Workplace(WriteGate(sessions), bus, settings, NOTICES)
    app[NAV_KEY] = []
    setup_sessions(app, ConsoleCookieStorage(session_key(settings), force_secure=settings.console_secure_cookies))
    app.middlewares.append(headers_middleware)
    app.middlewares.append(security_middleware)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        context_processors=[_template_context],
        undefined=jinja2.StrictUndefined,
    )
    _setup_i18n(env)
    env.filters["shown"] = lambda message: display_text(message.text, message.sender, message.direction)
    env.globals["sent_photo"] = sent_photo
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=True)
    env.globals["static"] = lambda path: app.router["static"].url_for(filename=path)
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        module.setup(app)
        add_nav(app, *getattr(module, "NAV", ()))
    app.cleanup_ctx.append(_services)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    """Background work owned by the console: the live hub and the Telegram file client."""
    async with telegram_files.client(app), live.hub(app):
        yield
