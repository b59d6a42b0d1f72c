"""The layer rules of ARCHITECTURE.md, checked on the source: no import cycle, no arrow up, channels apart."""

from __future__ import annotations

from tests.architecture.imports import cycles, external_imports, graph, modules, upward_arrows


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_no_layer_imports_a_layer_above_it_and_the_channels_never_import_the_console() -> None:
    assert upward_arrows(graph()) == []


def test_dialogs_never_import_a_channel_library() -> None:
    offenders = {name: sorted(external_imports(name) & {"aiogram", "aiohttp"})
                 for name in modules() if name.startswith("dialogs")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_console_uses_services_not_flows() -> None:
    edges = graph()
    assert sorted((source, target) for source, targets in edges.items() if source.startswith("staff_console")
                  for target in targets if target.startswith("dialogs.flows")) == []


def test_the_checker_sees_a_cycle_and_an_upward_arrow() -> None:
    """The two checks above would catch a real mistake (they are not empty by construction)."""
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}) == [["a.x", "a.y"]]
    assert upward_arrows({"storage.db": {"dialogs.engine"}, "bot.sender": {"staff_console.app"}}) == [
        ("bot.sender", "staff_console.app"), ("storage.db", "dialogs.engine")]


def test_nothing_below_homedesk_reads_the_cached_settings() -> None:
    users = [name for name, path in modules().items()
             if not name.startswith("homedesk") and "get_settings(" in path.read_text(encoding="utf-8")]
    assert users == []
