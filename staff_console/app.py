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
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import NOTICES
from staff_console import live, telegram_files
from staff_console.context import (
    BUS_KEY,
    NAV_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    STAFF_KEY,
    WORKPLACE_KEY,
    add_nav,
    public,
)
from staff_console.security import (
    ConsoleCookieStorage,
    csrf_token,
    headers_middleware,
    security_middleware,
    session_key,
)
from staff_console.text import display_text
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
    "staff_console.routes.listings",
    "staff_console.routes.viewings",
    "staff_console.routes.canned",
    "staff_console.routes.staff_admin",
    "staff_console.routes.profile",
    "staff_console.routes.live",
    "staff_console.routes.tickets",
    "staff_console.routes.reports",
    "staff_console.routes.dead_letters",
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
    nav = [item for item in request.app[NAV_KEY] if staff is not None and staff.role in item.roles]
    flashes = session.pop("flash", []) if staff is not None or request.path == "/login" else []
    return {"me": staff, "nav": nav, "csrf": csrf_token(session), "path": request.path,
            "tz": request.app[SETTINGS_KEY].tz, "flashes": flashes}


def _localtime(value: datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(tz).strftime(fmt)


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
    env.filters["localtime"] = _localtime
    env.filters["shown"] = lambda message: display_text(message.text, message.sender, message.direction)
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
