"""Customer photos for the console, fetched through the Bot API (getFile, then the file download), or read from
MEDIA_DIR for photos a web chat visitor uploaded (file ids `web:...`, storage.media).

The bot token stays on the server: browsers ask `/conversations/{id}/photos/{message}/{n}` and get the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from staff_console.context import SETTINGS_KEY
from storage.media import WEB_FILE_PREFIX, read_web_upload

CLIENT_KEY = web.AppKey("telegram_http", aiohttp.ClientSession)
CACHE_KEY = web.AppKey("telegram_file_cache", OrderedDict)
CACHE_ITEMS = 64
MAX_FILE_BYTES = 20 * 1024 * 1024  # the Bot API's own download limit


class FileUnavailable(Exception):
    """No token configured, Telegram refused, or the file is too big."""


@contextlib.asynccontextmanager
async def client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[CLIENT_KEY] = session
        app[CACHE_KEY] = OrderedDict()
        yield


def _content_type(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith(".png"):
        return "image/png"
    if lowered.endswith(".webp"):
        return "image/webp"
    if lowered.endswith(".gif"):
        return "image/gif"
    return "image/jpeg"


async def fetch(app: web.Application, file_id: str) -> tuple[bytes, str]:
    cache: OrderedDict[str, tuple[bytes, str]] = app[CACHE_KEY]
    if file_id in cache:
        cache.move_to_end(file_id)
        return cache[file_id]
    settings = app[SETTINGS_KEY]
    if file_id.startswith(WEB_FILE_PREFIX):  # a web chat upload: on our own disk
        stored = await asyncio.to_thread(read_web_upload, settings.media_path, file_id, MAX_FILE_BYTES)
        if stored is None:
            raise FileUnavailable("web upload missing")
        return stored
    token = settings.bot_token
    if not token:
        raise FileUnavailable("TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_base.rstrip("/")
    http = app[CLIENT_KEY]
    try:
        async with http.get(f"{base}/bot{token}/getFile", params={"file_id": file_id}) as response:
            body = await response.json(content_type=None)
        if not body.get("ok"):
            raise FileUnavailable(str(body.get("description", "getFile failed"))[:200])
        file_path = str(body["result"]["file_path"])
        if int(body["result"].get("file_size") or 0) > MAX_FILE_BYTES:
            raise FileUnavailable("file too big")
        async with http.get(f"{base}/file/bot{token}/{file_path}") as response:
            if response.status != 200:
                raise FileUnavailable(f"download answered {response.status}")
            data = await response.content.read(MAX_FILE_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        # never include the URL: it carries the token
        raise FileUnavailable(type(exc).__name__) from None
    if len(data) > MAX_FILE_BYTES:
        raise FileUnavailable("file too big")
    result = (data, _content_type(file_path))
    cache[file_id] = result
    if len(cache) > CACHE_ITEMS:
        cache.popitem(last=False)
    return result
