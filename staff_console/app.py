"""Build the console's aiohttp application."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from homedesk.settings import Settings
from storage.events import EventBus

log = logging.getLogger(__name__)

SETTINGS_KEY = web.AppKey("settings", Settings)
SESSIONS_KEY = web.AppKey("sessions", async_sessionmaker[AsyncSession])
BUS_KEY = web.AppKey("bus", EventBus)


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


def create_app(
    *, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
) -> web.Application:
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[SESSIONS_KEY] = sessions
    app[BUS_KEY] = bus
    app.router.add_get("/healthz", healthz)
    return app
