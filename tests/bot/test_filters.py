"""bot.filters and the routers: every filter and handler runs on the event loop (aiogram hands anything that is
not a coroutine, magic filters included, to a worker thread per check)."""

from __future__ import annotations

from aiogram.dispatcher.event.handler import CallableObject

from bot.handlers import build_routers


def _callables(router) -> list[tuple[str, CallableObject]]:  # noqa: ANN001
    found: list[tuple[str, CallableObject]] = []
    for name, observer in router.observers.items():
        found += [(f"{router.name}.{name} filter", f) for f in observer._handler.filters or []]  # noqa: SLF001
        for handler in observer.handlers:
            found.append((f"{router.name}.{name} handler {handler.callback.__name__}", handler))
            found += [(f"{router.name}.{name} filter of {handler.callback.__name__}", f)
                      for f in handler.filters or []]
    return found


def test_nothing_in_the_routers_runs_in_a_thread() -> None:
    everything = [item for router in build_routers() for item in _callables(router)]
    assert len(everything) >= 12  # the routers' filters and handlers were found
    in_threads = [where for where, callable_object in everything if not callable_object.awaitable]
    assert in_threads == []
