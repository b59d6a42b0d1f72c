"""HTTP control API of the offline Bot API server, for benchmarks that run it in another process.

POST bodies and answers are JSON:

- ``POST /_control/push_text``     {chat_id, text, first_name?, language_code?} -> {update_id, message_id}
- ``POST /_control/push_command``  {chat_id, command, args?}                    -> {update_id, message_id}
- ``POST /_control/press``         {chat_id, label}                             -> {update_id}
- ``POST /_control/press_data``    {chat_id, data, message_id?}                 -> {update_id}
- ``POST /_control/push_batch``    {items: [{chat_id, text} | {chat_id, command, args?}]} -> {update_ids}
- ``POST /_control/push_raw``      any JSON value, queued as an update as is
- ``POST /_control/fault``         {kind: fail_next|fail_for|block_chat|unblock_chat|hang_next|hang_for|set_latency|
                                   clear, ...keyword arguments of that server method}
- ``POST /_control/limits``        {enabled: false} or RateLimits fields
- ``GET  /_control/stats?since=N`` counts plus receipts[N:] as [chat_id, message_id, accepted_at]
- ``GET  /_control/updates?since=N`` [update_id, chat_id, pushed_at, delivered_at] in push order
- ``GET  /_control/sent?chat_id=X`` the bot's messages to that chat
Customers are created on first use with user id = chat_id.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .limits import RateLimits

if TYPE_CHECKING:
    from .customer import Customer
    from .server import BotApiServer

_FAULTS = ("fail_next", "fail_for", "block_chat", "unblock_chat", "hang_next", "hang_for", "set_latency")


def add_control_routes(app: web.Application, server: BotApiServer) -> None:
    def customer_for(body: dict) -> Customer:
        return server.customer(
            int(body["chat_id"]),
            first_name=str(body.get("first_name", "Customer")),
            language_code=str(body.get("language_code", "en")),
        )

    def push_one(body: dict) -> dict:
        customer = customer_for(body)
        if "command" in body:
            update = customer.send_command(str(body["command"]), body.get("args"))
        else:
            update = customer.send_text(str(body["text"]))
        return {"update_id": update["update_id"], "message_id": update["message"]["message_id"]}

    async def read_body(request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError as error:
            raise web.HTTPBadRequest(text="body must be JSON") from error

    async def push_text(request: web.Request) -> web.Response:
        return web.json_response(push_one(await read_body(request)))

    async def push_batch(request: web.Request) -> web.Response:
        body = await read_body(request)
        return web.json_response({"update_ids": [push_one(item)["update_id"] for item in body["items"]]})

    async def press(request: web.Request) -> web.Response:
        body = await read_body(request)
        customer = customer_for(body)
        try:
            if "label" in body:
                update = customer.press(str(body["label"]), int(body.get("search_last", 1)))
            else:
                message_id = body.get("message_id")
                update = customer.press_data(str(body["data"]), None if message_id is None else int(message_id))
        except LookupError as error:
            raise web.HTTPNotFound(text=str(error)) from error
        return web.json_response({"update_id": update["update_id"]})

    async def push_raw(request: web.Request) -> web.Response:
        server.push_raw_update(await read_body(request))
        return web.json_response({"ok": True})

    async def fault(request: web.Request) -> web.Response:
        body = dict(await read_body(request))
        kind = body.pop("kind", None)
        if kind == "clear":
            server.clear_faults()
        elif kind in _FAULTS:
            getattr(server, kind)(**body)
        else:
            raise web.HTTPBadRequest(text=f"kind must be one of {_FAULTS + ('clear',)}")
        return web.json_response({"ok": True})

    async def limits(request: web.Request) -> web.Response:
        body = dict(await read_body(request))
        if body.pop("enabled", True) is False:
            server.set_limits(None)
        else:
            server.set_limits(RateLimits(**body))
        return web.json_response({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        body = server.stats()
        body["receipts"] = [list(receipt) for receipt in server.receipts[since:]]
        body["next"] = len(server.receipts)
        return web.json_response(body)

    async def updates(request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        rows = [
            [update_id, *entry]
            for update_id, entry in itertools.islice(server.update_log.items(), since, None)
        ]
        return web.json_response({"updates": rows, "next": len(server.update_log)})

    async def sent(request: web.Request) -> web.Response:
        return web.json_response(server.sent(int(request.query["chat_id"])))

    app.router.add_post("/_control/push_text", push_text)
    app.router.add_post("/_control/push_command", push_text)
    app.router.add_post("/_control/push_batch", push_batch)
    app.router.add_post("/_control/press", press)
    app.router.add_post("/_control/press_data", press)
    app.router.add_post("/_control/push_raw", push_raw)
    app.router.add_post("/_control/fault", fault)
    app.router.add_post("/_control/limits", limits)
    app.router.add_get("/_control/stats", stats)
    app.router.add_get("/_control/updates", updates)
    app.router.add_get("/_control/sent", sent)
