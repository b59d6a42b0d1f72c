"""The conversation replay suite: every script under tests/replay/scripts/ is one test, id ``<journey>.<lang>``.

Run one: ``pytest tests/replay -k booking.zh``. A failure prints the whole conversation so far. The coverage
test fails when a registered flow (dialogs/flows FLOWS) or a journey of JOURNEYS has no script in English and in
Chinese: a new flow is not done without its scripts.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from dialogs.flows import FLOWS
from tests.replay.hooks import HOOKS, run_ticks
from tests.replay.runner import Replay, ReplayFailure, World
from tests.replay.script import LANGUAGES, Script, ScriptError, parse_file

SCRIPTS_DIR = Path(__file__).parent / "scripts"

# Journeys that are not one flow of their own (fallbacks, ticks, commands, parts of a flow), each needing scripts
# in both languages like the flows do. A script names what it walks in its `covers:` header.
JOURNEYS = {
    "need:sentence": "a search said in one sentence",
    "need:buttons": "a search built step by step with buttons",
    "rec:paging": "paging through the recommendations",
    "vw:reschedule": "moving a booked viewing",
    "vw:cancel": "cancelling a booked viewing",
    "faq": "a question answered from the FAQ (a fallback, not a flow)",
    "handoff:leave": "leaving the queue for a person",
    "repair:owner": "a verified owner files a repair",
    "repair:stranger": "a phone that matches no home",
    "alerts": "a saved search brings a new home (the alert tick)",
    "language": "switching the language (/language, or by writing in it)",
}


def script_paths() -> list[Path]:
    return sorted(SCRIPTS_DIR.rglob("*.txt"))


def _load(path: Path) -> Script:
    try:
        return parse_file(path)
    except ScriptError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.mark.parametrize("path", script_paths(), ids=lambda path: path.name.removesuffix(".txt"))
async def test_script(path: Path, api, make_channel, sessions, frozen_clock, bus) -> None:
    script = _load(path)
    async with make_channel(api):
        customer = api.customer(first_name=script.customer_name, language_code=script.language_code,
                                **({"phone": script.phone} if script.phone else {}))
        world = World(api=api, sessions=sessions, clock=frozen_clock, bus=bus, customer=customer)
        replay = Replay(script, world, HOOKS, run_ticks)
        failure = None
        try:
            await replay.run()
        except ReplayFailure as error:
            failure = str(error)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    if script.known_defect:
        if replay.known_defect_seen:
            pytest.xfail(f"known defect: {script.known_defect}: {replay.known_defect_seen[0]}")
        pytest.fail(f"{path.name}: the known defect ({script.known_defect}) no longer shows: remove the "
                    "'known defect:' line", pytrace=False)


def test_every_flow_and_journey_has_scripts_in_both_languages() -> None:
    known = {flow.name for flow in FLOWS} | set(JOURNEYS)
    covered: dict[str, set[str]] = defaultdict(set)
    unknown = []
    for path in script_paths():
        script = parse_file(path)
        for name in script.covers:
            if name not in known:
                unknown.append(f"{path.name}: covers {name!r}")
            covered[name].add(script.language)
    assert not unknown, f"unknown flow or journey names (known: {sorted(known)}): {unknown}"
    missing = [f"{name} ({', '.join(lang for lang in LANGUAGES if lang not in covered[name])})"
               for name in sorted(known) if set(LANGUAGES) - covered[name]]
    assert not missing, f"no replay script for: {', '.join(missing)}"


def test_every_script_parses_and_names_known_hooks() -> None:
    problems = []
    for path in script_paths():
        try:
            script = parse_file(path)
        except ScriptError as error:
            problems.append(str(error))
            continue
        problems += [f"{step.where(script)}: no hook {step.verb!r}" for step in script.steps
                     if step.kind == "hook" and step.verb not in HOOKS]
    assert not problems, "\n".join(problems)
