"""The WebSocket every console page opens for live updates; it also keeps the agent "online" for auto-assignment."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from staff_console.context import ALL_ROLES, act, requires, staff, to_int
from staff_console.live import HUB_KEY, Client
from staff_console.security import same_origin
from storage.repositories import staff as staff_repo

HEARTBEAT_SECONDS = 30.0


@requires(*ALL_ROLES)
async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):  # a page on another site must not ride on the agent's cookie
        return web.json_response({"error": "cross-origin WebSocket refused"}, status=403)
    me = staff(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024)
    await ws.prepare(request)
    client = Client(staff_id=me.id, role=me.role, conversation_id=to_int(request.query.get("conversation")),
                    inbox=request.query.get("inbox") == "1")
    hub = request.app[HUB_KEY]
    hub.add(client)
    writer = asyncio.create_task(_write(ws, client))
    presence = asyncio.create_task(_presence(request, me.id)) if me.role in ("agent", "admin") else None
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
        for task in (writer, presence):
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


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
