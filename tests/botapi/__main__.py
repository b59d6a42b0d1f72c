"""Run the offline Bot API server as its own process (for benchmarks):

    python -m tests.botapi --port 8081 --token 123456:ABC [--no-limits]

Prints the base URL (for TELEGRAM_API_BASE) as the first stdout line, then serves until
SIGINT/SIGTERM. Feed updates and read results through the control API (see control.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .limits import RateLimits
from .server import BotApiServer


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.botapi", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123456789:TEST-homedesk-token")
    parser.add_argument("--no-limits", action="store_true", help="switch Telegram's flood limits off")
    parser.add_argument("--no-call-log", action="store_true", help="keep counts only, not every request")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    limits = None if args.no_limits else RateLimits()
    server = BotApiServer(
        token=args.token, host=args.host, port=args.port, limits=limits, keep_calls=not args.no_call_log
    )
    async with server:
        print(server.base_url, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
