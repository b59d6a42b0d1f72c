"""The WebSocket every console page opens for live updates; it also keeps the agent "online" for auto-assignment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp_session import get_session
from sqlalchemy.exc import SQLAlchemyError

from staff_console.context import ALL_ROLES, act, db, requires, staff, to_int
from staff_console.i18n import translator
from staff_console.live import HUB_KEY, Client
from staff_console.security import same_origin, session_token
from storage.repositories import staff as staff_repo
from storage.services import staff_accounts

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0
SESSION_CHECK_SECONDS = 30.0  # an open channel notices within this long that its sign-in session ended


@requires(*ALL_ROLES)
async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):  # a page on another site must not ride on the agent's cookie
        _ = translator(request)
        return web.json_response({"error": _("cross-origin WebSocket refused")}, status=403)
    me = staff(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024)
    await ws.prepare(request)
    client = Client(staff_id=me.id, role=me.role, conversation_id=to_int(request.query.get("conversation")),
                    inbox=request.query.get("inbox") == "1", tickets=request.query.get("tickets") == "1",
                    ticket_id=to_int(request.query.get("ticket")))
    hub = request.app[HUB_KEY]
    hub.add(client)
    writer = asyncio.create_task(_write(ws, client))
    presence = asyncio.create_task(_presence(request, me.id)) if me.role in ("agent", "admin") else None
    watch = asyncio.create_task(_session_watch(request, ws, me.id, session_token(await get_session(request))))
    try:
        await ws.send_str(json.dumps({"type": "hello", "staff_id": me.id}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                body = json.loads(msg.data)
                if body.get("type") == "watch":
                    client.conversation_id = to_int(body.get("conversation_id"))
                    client.inbox = bool(body.get("inbox"))
                elif body.get("type") == "ping":
                    await ws.send_str(json.dumps({"type": "pong", "t": body.get("t")}))
    finally:
        hub.remove(client)
        for task in (writer, presence, watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if presence is not None and not hub.connected(me.id):
            with contextlib.suppress(Exception):  # the process may be shutting down
                async with act(request) as work:
                    await staff_repo.set_offline(work.session, me.id)
    return ws


async def _write(ws: web.WebSocketResponse, client: Client) -> None:
    while not ws.closed:
        raw = await client.queue.get()
        await ws.send_str(raw)


async def _presence(request: web.Request, staff_id: int) -> None:
    while True:
        async with act(request) as work:
            await staff_repo.heartbeat(work.session, staff_id)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _session_watch(request: web.Request, ws: web.WebSocketResponse, staff_id: int, token: str) -> None:
    """Close the channel once its sign-in session ends (sign-out, password change, deactivation, sign out
    everywhere): a copied cookie's open channel stops too, not only its next request."""
    while not ws.closed:
        await asyncio.sleep(SESSION_CHECK_SECONDS)
        try:
            async with db(request)() as session:
                alive = await staff_accounts.session_owner(session, staff_id, token) is not None
        except SQLAlchemyError as exc:  # the database is busy or away: ask again next time
            log.warning("live channel: could not check the session (%s)", type(exc).__name__)
            continue
        if not alive:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"signed out")
            return


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
