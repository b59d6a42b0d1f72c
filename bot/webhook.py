"""Webhook mode: aiogram's SimpleRequestHandler, made durable.

The update is stored before Telegram gets its 200 OK (a failure answers 500 and Telegram retries), then it
joins the same per-chat, handle-once path as polled updates. The route does not contain the token; the
X-Telegram-Bot-Api-Secret-Token header (WEBHOOK_SECRET) authenticates Telegram.
"""

from __future__ import annotations

import json
import logging

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.pipeline import InboundPipeline

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def bypass_console_middlewares(path: str) -> Middleware:
    """An outermost middleware that hands the webhook route straight to its handler.

    The console's middlewares (staff sign-in, CSRF) protect people's browsers; Telegram is authenticated by
    the secret-token header instead, so for this one route they must not run.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == path and request.method == "POST" and request.match_info.http_exception is None:
            return await request.match_info.handler(request)
        return await handler(request)

    return middleware


class StoringRequestHandler(SimpleRequestHandler):
    def __init__(self, pipeline: InboundPipeline, bot: Bot, secret_token: str | None) -> None:
        super().__init__(dispatcher=pipeline.dispatcher, bot=bot, handle_in_background=False,
                         secret_token=secret_token)
        self.pipeline = pipeline

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            raw = await request.json(loads=bot.session.json_loads)
        except (ValueError, json.JSONDecodeError):
            log.warning("webhook body is not JSON; ignored")
            return web.json_response({})
        try:
            await self.pipeline.accept([raw])
        except Exception:
            log.exception("could not store a webhook update; Telegram will retry it")
            return web.Response(status=500)
        return web.json_response({})

    async def close(self) -> None:
        return None  # the channel owns the bot's HTTP session
