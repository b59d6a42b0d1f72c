"""Who a notice to owners reaches: owners (customers linked to a unit, `CustomerUnit`), narrowed by filters.

The filters are a small pluggable set. Each `AudienceFilter` has a key (stored in `Broadcast.audience` as
`{key: [values]}`), checks the values staff chose (`parse`, refusing unknown ones with an English sentence the
console translates) and turns them into a condition on `Customer` (`condition`). Every filter given narrows the
audience (AND); the values of one filter widen it (any of them). Adding a filter (for example "owners with a given
milestone status", once deals and their milestones exist) is one `register(AudienceFilter(...))` plus its word in
`staff_console/words.py` ("audience") and a field on the compose form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, column, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Building, Customer, CustomerUnit, Deal, Milestone, Project, Unit
from storage.services.milestones import TRACKS

MAX_VALUES = 200  # one filter's values (buildings of a big project fit)
MAX_TAG = 64


class AudienceError(ValueError):
    """The audience staff chose cannot be used; the sentence is shown to them (translated by the console)."""


@dataclass(frozen=True)
class AudienceFilter:
    key: str
    # The form's values (text) -> the stored values; raises AudienceError for values that name nothing.
    parse: Callable[[AsyncSession, Sequence[str]], Awaitable[list[Any]]]
    # (stored values, database dialect name) -> a condition on Customer rows.
    condition: Callable[[Sequence[Any], str], ColumnElement[bool]]


FILTERS: dict[str, AudienceFilter] = {}


def register(audience_filter: AudienceFilter) -> AudienceFilter:
    FILTERS[audience_filter.key] = audience_filter
    return audience_filter


def _ids(values: Sequence[str]) -> list[int]:
    found: list[int] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        if not text.isdigit() or len(text) > 18:
            raise AudienceError(f"{text} is not a valid choice")
        found.append(int(text))
    return sorted(set(found))


async def _projects(session: AsyncSession, values: Sequence[str]) -> list[Any]:
    ids = _ids(values)
    known = set((await session.scalars(select(Project.id).where(Project.id.in_(ids)))).all()) if ids else set()
    if set(ids) - known:
        raise AudienceError("no such project")
    return list(ids)


async def _buildings(session: AsyncSession, values: Sequence[str]) -> list[Any]:
    ids = _ids(values)
    known = set((await session.scalars(select(Building.id).where(Building.id.in_(ids)))).all()) if ids else set()
    if set(ids) - known:
        raise AudienceError("no such building")
    return list(ids)


async def _tags(session: AsyncSession, values: Sequence[str]) -> list[Any]:
    tags = sorted({str(value).strip() for value in values if str(value).strip()})
    if any(len(tag) > MAX_TAG for tag in tags):
        raise AudienceError(f"a tag is longer than {MAX_TAG} characters")
    return tags


def _owners_of_projects(values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    return Customer.id.in_(
        select(CustomerUnit.customer_id).join(Unit, Unit.id == CustomerUnit.unit_id)
        .join(Building, Building.id == Unit.building_id).where(Building.project_id.in_(list(values))))


def _owners_in_buildings(values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    return Customer.id.in_(
        select(CustomerUnit.customer_id).join(Unit, Unit.id == CustomerUnit.unit_id)
        .where(Unit.building_id.in_(list(values))))


def _tagged(values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """Customers carrying any of these tags (`Customer.tags` is a JSON list of strings)."""
    tags = [str(value) for value in values]
    if dialect == "postgresql":  # jsonb: ?| is "any of these strings is an element"
        return Customer.tags.op("?|")(postgresql.array(tags))
    element = func.json_each(Customer.tags).table_valued("value")
    return exists(select(literal(1)).select_from(element).where(column("value").in_(tags)))


# Owners whose deal stands at a milestone step: stored as "track:step" (e.g. "move_in:notice_sent").
MILESTONE_STEPS = tuple(f"{track}:{step.code}" for track, steps in TRACKS.items() for step in steps)


async def _milestones(session: AsyncSession, values: Sequence[str]) -> list[Any]:
    chosen = sorted({str(value).strip() for value in values if str(value).strip()})
    for value in chosen:
        if value not in MILESTONE_STEPS:
            raise AudienceError(f"{value} is not a valid choice")
    return chosen


def _at_milestones(values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """Customers with a deal whose track stands at any of these steps."""
    pairs = [str(value).split(":", 1) for value in values]
    return Customer.id.in_(
        select(Deal.customer_id).join(Milestone, Milestone.deal_id == Deal.id)
        .where(Deal.customer_id.is_not(None),
               or_(*(and_(Milestone.track == track, Milestone.status == step) for track, step in pairs))))


PROJECT = register(AudienceFilter("project", _projects, _owners_of_projects))
BUILDING = register(AudienceFilter("building", _buildings, _owners_in_buildings))
TAG = register(AudienceFilter("tag", _tags, _tagged))
MILESTONE = register(AudienceFilter("milestone", _milestones, _at_milestones))


async def parse(session: AsyncSession, chosen: Mapping[str, Sequence[str]]) -> dict[str, list[Any]]:
    """The audience staff chose (filter key -> form values) as it is stored; at least one filter is required,
    and buildings, when a project is chosen too, must belong to it (else nobody would match)."""
    audience: dict[str, list[Any]] = {}
    for key, values in chosen.items():
        audience_filter = FILTERS.get(key)
        if audience_filter is None:
            raise AudienceError(f"unknown audience {key}")
        if len(values) > MAX_VALUES:
            raise AudienceError(f"choose at most {MAX_VALUES} values for one filter")
        parsed = await audience_filter.parse(session, values)
        if parsed:
            audience[key] = parsed
    if not audience:
        raise AudienceError("choose who receives the notice: a project, buildings, a tag or a deal step")
    if audience.get("project") and audience.get("building"):
        outside = await session.scalar(select(func.count()).select_from(Building).where(
            Building.id.in_(audience["building"]), Building.project_id.not_in(audience["project"])))
        if outside:
            raise AudienceError("the buildings must belong to the chosen project")
    return audience


def condition(audience: Mapping[str, Sequence[Any]], dialect: str) -> ColumnElement[bool]:
    """Owners matching every filter of a stored audience (an unknown stored key matches nobody). An owner is a
    customer linked to a home, or one who signed a deal for one (before the handover makes them its owner)."""
    parts: list[ColumnElement[bool]] = [or_(exists().where(CustomerUnit.customer_id == Customer.id),
                                            exists().where(Deal.customer_id == Customer.id))]
    for key, values in audience.items():
        audience_filter = FILTERS.get(key)
        if audience_filter is None or not values:
            parts.append(literal(False))
            continue
        parts.append(audience_filter.condition(values, dialect))
    return and_(*parts)


@dataclass(frozen=True)
class Count:
    owners: int
    reachable: int  # not blocked (the others are recorded as blocked, nothing is sent to them)

    @property
    def blocked(self) -> int:
        return self.owners - self.reachable


async def count(session: AsyncSession, audience: Mapping[str, Sequence[Any]]) -> Count:
    """How many owners a notice to this audience reaches (the compose form's preview)."""
    dialect = session.get_bind().dialect.name
    owners, blocked = (await session.execute(
        select(func.count(), func.count(Customer.unreachable_at)).select_from(Customer)
        .where(condition(audience, dialect)))).one()
    return Count(int(owners), int(owners) - int(blocked))


@dataclass(frozen=True)
class Choices:
    """What the compose form offers: projects, buildings (with their project) and the owners' tags."""

    projects: list[tuple[int, str]]
    buildings: list[tuple[int, int, str, str]]  # id, project id, project name, building name
    tags: list[str]
    milestones: tuple[str, ...] = MILESTONE_STEPS  # "track:step"


async def choices(session: AsyncSession) -> Choices:
    projects = [(row.id, row.name) for row in (await session.execute(
        select(Project.id, Project.name).order_by(Project.name))).all()]
    buildings = [(row.id, row.project_id, row.project, row.name) for row in (await session.execute(
        select(Building.id, Building.project_id, Project.name.label("project"), Building.name)
        .join(Project, Project.id == Building.project_id).order_by(Project.name, Building.name))).all()]
    tags: set[str] = set()
    owner_tags = await session.scalars(select(Customer.tags).where(
        exists().where(CustomerUnit.customer_id == Customer.id)))
    for row in owner_tags.all():
        tags.update(str(tag) for tag in (row or []))
    return Choices(projects, buildings, sorted(tags))


def describe(audience: Mapping[str, Sequence[Any]], names: Mapping[str, Mapping[Any, str]]) -> list[tuple[str, str]]:
    """(filter key, its values joined) for a page; `names` maps stored ids to names per key."""
    described = []
    for key, values in audience.items():
        known = names.get(key, {})
        described.append((key, ", ".join(str(known.get(value, value)) for value in values)))
    return described

