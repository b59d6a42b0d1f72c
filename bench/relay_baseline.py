"""The same-run baseline of bench/relay.py: the same relay made of the bare libraries, without Homedesk.

A bare aiogram bot polls the same offline Bot API server and forwards each customer text to the agent's socket for
that chat on a bare aiohttp WebSocket server (a dict chat -> socket); the agent answers with an HTTP POST to a bare
aiohttp route, which calls bot.send_message directly. No database, event bus, sign-in, dialog step or outbox: the
floor that the transport, aiogram, aiohttp and this machine set for the same load.

It speaks just enough of the console's protocol for bench/relay.py's agents: `GET /ws?conversation=<chat id>`
(a hello frame, then `{"type": "message", "message": {"id", "direction": "in", "text"}}` per customer message) and
`POST /conversations/<chat id>/reply` with a form field `text`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiohttp import web


@contextlib.asynccontextmanager
async def bare_relay(api_base: str, token: str) -> AsyncIterator[str]:
    """Run the bare bot (polling `api_base`) and the bare web server; yields the web server's URL."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    sockets: dict[int, web.WebSocketResponse] = {}  # chat id -> the agent's socket
    router = Router()

    @router.message()
    async def forward(message: Message) -> None:
        socket = sockets.get(message.chat.id)
        if socket is not None and not socket.closed:
            await socket.send_json({"type": "message", "message": {
                "id": message.message_id, "direction": "in", "text": message.text or ""}})

    async def agent_socket(request: web.Request) -> web.WebSocketResponse:
        chat_id = int(request.query["conversation"])
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        sockets[chat_id] = socket
        await socket.send_json({"type": "hello"})
        try:
            async for _ in socket:  # the agents only listen on it
                pass
        finally:
            if sockets.get(chat_id) is socket:
                del sockets[chat_id]
        return socket

    async def reply(request: web.Request) -> web.Response:
        form = await request.post()
        await bot.send_message(int(request.match_info["chat_id"]), str(form["text"]))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/ws", agent_socket)
    app.router.add_post("/conversations/{chat_id}/reply", reply)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        with contextlib.suppress(RuntimeError):  # "Polling is not started" if it never got going
            await dispatcher.stop_polling()
        await asyncio.wait({polling}, timeout=10)
        polling.cancel()
        await runner.cleanup()
        await bot.session.close()
