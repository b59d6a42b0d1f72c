"""Webhook mode of the offline Bot API server: setWebhook/deleteWebhook/getWebhookInfo and the
workers that POST updates to the bot, in order per chat, retrying until the bot answers 200."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import aiohttp

from .wire import (
    SECRET_TOKEN,
    ApiCall,
    ApiError,
    QueuedUpdate,
    Upload,
    WebhookConfig,
    dumps,
    flag_param,
    int_param,
    json_param,
)


class WebhookMixin:
    """Webhook half of BotApiServer. While a webhook is set, updates go to one queue per connection
    (chosen by chat id, so a chat's updates stay in order) instead of the getUpdates queue."""

    async def _set_webhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            await self._delete_webhook(params, files)
            return True
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = int_param(params, "max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be between 1 and 100")
        allowed = json_param(params, "allowed_updates", "Bad Request: can't parse allowed_updates JSON object")
        await self._stop_webhook_workers()
        if flag_param(params, "drop_pending_updates"):
            self._drop_pending()
        self._webhook = WebhookConfig(url, None if secret is None else str(secret), max_connections, allowed)
        self._start_webhook_workers()
        return True

    async def _delete_webhook(self, params: dict, files: dict) -> bool:
        await self._stop_webhook_workers()
        self._webhook = None
        if flag_param(params, "drop_pending_updates"):
            self._drop_pending()
        assert self._updates_event is not None
        self._updates_event.set()
        return True

    async def _get_webhook_info(self, params: dict, files: dict) -> dict:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": self._pending_count(),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _drop_pending(self) -> None:
        for entry in self._pending:
            self._mark_delivered(entry)
        self._pending.clear()

    def _shard(self, entry: QueuedUpdate) -> asyncio.Queue[QueuedUpdate]:
        # Updates of one chat always go through the same worker, so they arrive in order.
        key = entry.chat_id if entry.chat_id is not None else entry.update_id
        return self._webhook_queues[key % len(self._webhook_queues)]

    def _start_webhook_workers(self) -> None:
        assert self._webhook is not None
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._webhook_queues = [asyncio.Queue() for _ in range(self._webhook.max_connections)]
        self._webhook_tasks = [
            asyncio.create_task(self._webhook_worker(queue), name=f"botapi-webhook-{index}")
            for index, queue in enumerate(self._webhook_queues)
        ]
        pending, self._pending = self._pending, deque()
        for entry in pending:
            self._shard(entry).put_nowait(entry)

    async def _stop_webhook_workers(self) -> None:
        tasks, self._webhook_tasks = self._webhook_tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        leftovers = list(self._webhook_inflight.values())
        self._webhook_inflight.clear()
        for queue in self._webhook_queues:
            while not queue.empty():
                leftovers.append(queue.get_nowait())
        self._webhook_queues = []
        if leftovers:
            leftovers.extend(self._pending)
            self._pending = deque(sorted(leftovers, key=lambda entry: entry.update_id))

    async def _webhook_worker(self, queue: asyncio.Queue[QueuedUpdate]) -> None:
        while True:
            entry = await queue.get()
            self._webhook_inflight[id(entry)] = entry
            delay = self.webhook_retry_delay
            while not await self._post_update(entry):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            self._webhook_inflight.pop(id(entry), None)

    async def _post_update(self, entry: QueuedUpdate) -> bool:
        hook = self._webhook
        assert hook is not None and self._http is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._http.post(hook.url, data=dumps(entry.payload), headers=headers) as response:
                if response.status != 200:
                    self._webhook_error(hook, f"Wrong response from the webhook: {response.status} {response.reason}")
                    return False
                reply = await self._read_webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            self._webhook_error(hook, f"Connection failed: {type(error).__name__}")
            return False
        self.webhook_deliveries += 1
        self._mark_delivered(entry)
        if reply is not None:
            await self._run_webhook_reply(*reply)
        return True

    def _webhook_error(self, hook: WebhookConfig, message: str) -> None:
        hook.last_error_date = int(self.clock())
        hook.last_error_message = message

    @staticmethod
    async def _read_webhook_reply(response: aiohttp.ClientResponse) -> tuple[dict, dict[str, Upload]] | None:
        """A webhook may answer with a method call in its response body; Telegram executes it."""
        if response.content_type == "multipart/form-data":
            params: dict[str, Any] = {}
            files: dict[str, Upload] = {}
            reader = aiohttp.MultipartReader.from_response(response)
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    files[part.name] = Upload(part.filename, bytes(await part.read()))
                else:
                    params[part.name] = await part.text()
            return (params, files) if "method" in params else None
        if response.content_type == "application/json":
            body = await response.json()
            if isinstance(body, dict) and "method" in body:
                return body, {}
        return None

    async def _run_webhook_reply(self, params: dict, files: dict[str, Upload]) -> None:
        params = dict(params)
        found = self._methods.get(str(params.pop("method")).lower())
        if found is None:
            return
        name, handler = found
        call = ApiCall(method=name, params=params, at=self.clock(), via_webhook_reply=True)
        if self.keep_calls:
            self.calls.append(call)
        self.calls_by_method[name] += 1
        await self._perform(name, handler, params, files, call)
