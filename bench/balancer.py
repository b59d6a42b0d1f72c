"""A small reverse proxy in front of several `homedesk run --role bot` instances in webhook mode, for the
multi-instance test (tests/bot/test_instances.py) and `bench/pipeline.py --instances N`. In production a real
load balancer (nginx, HAProxy, a cloud one) does this; nothing in Homedesk depends on which instance gets an
update: any instance stores it, and the claim keeps each chat in order (storage.updates.claim)."""

from __future__ import annotations

import socket
from collections import Counter

import aiohttp
from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Balancer:
    """A small reverse proxy: each request to the next instance in turn; an instance that does not answer (it was
    killed) is skipped for the next one. Counts what each instance answered."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turn = 0
        self.answered: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Balancer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {key: value for key, value in request.headers.items()
                   if key.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        self.turn += 1
        for step in range(len(self.backends)):
            backend = self.backends[(self.turn + step) % len(self.backends)]
            try:
                async with self._http.request(request.method, backend + request.path_qs, data=body,
                                              headers=headers) as response:
                    answer = await response.read()
                    self.answered[backend] += 1
                    return web.Response(status=response.status, body=answer,
                                        content_type=response.content_type)
            except (aiohttp.ClientError, OSError):
                self.refused[backend] += 1
        return web.Response(status=502)
