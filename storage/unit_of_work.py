"""One unit of work for every entry point: a Telegram update, a console request, a scheduled tick, a CLI command.

Every entry point opens a `Work` from its process's `Workplace` and hands it to services. A Work carries:
- the session of one transaction (through the process's WriteGate: one writer at a time on SQLite);
- who acts (a customer, a staff member or the system) and the request's IP where there is one (for the audit);
- the settings, built once at start-up and passed down (no module below `homedesk` reads the environment);
- the texts people read (`Texts`, implemented by `dialogs.notices`), so services in storage can tell a
  customer or a staff member something in their own language without importing the dialogs layer;
- what to do after commit: the live events services appended, and callbacks (wake the sender...).

Services append their own events while they work; `publish_committed` is the one place they are published,
after the transaction committed, so consoles only ever read committed data. A failed transaction publishes
nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage.events import Event, EventBus
from storage.gate import WriteGate
from storage.settings import Settings

log = logging.getLogger(__name__)


class ActorKind(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who caused the change: recorded in the audit log and in 'entered by' fields."""

    kind: ActorKind
    id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)

    @classmethod
    def staff(cls, staff_id: int) -> Actor:
        return cls(ActorKind.STAFF, staff_id)

    @classmethod
    def customer(cls, customer_id: int | None = None) -> Actor:
        return cls(ActorKind.CUSTOMER, customer_id)

    @property
    def staff_id(self) -> int | None:
        return self.id if self.kind is ActorKind.STAFF else None


@dataclass(frozen=True)
class Rendered:
    """A message in one person's language: the channel-neutral reply payload (`Reply.to_payload()`), the plain
    text for histories and the console's notification list, and the message kind."""

    payload: dict[str, Any]
    text: str
    kind: str = "say"


class Texts(Protocol):
    """What people read, in their own language. Implemented by `dialogs.notices.NOTICES`."""

    def staff_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        """A staff notification (console list and Telegram), e.g. kind 'assigned' with a customer's name."""
        ...

    def customer_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        """A message to a customer caused by a staff or system action (an agent joined, returned to the bot...)."""
        ...


class FlowFailed(Exception):  # noqa: N818 - says what happened, raised on purpose
    """A dialog flow raised inside a Work that asked for `redo_failed_flows`: the caller rolls the whole unit of
    work back and handles the event again with `apologise` set (dialogs.engine)."""


@dataclass
class Work:
    session: AsyncSession
    settings: Settings
    texts: Texts
    actor: Actor = field(default_factory=Actor.system)
    ip: str | None = None
    events: list[Event] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # How a failing flow is contained (dialogs.engine): by default a savepoint around it (two statements on every
    # event); the Telegram hot path sets redo_failed_flows instead (no savepoint; a failure raises FlowFailed and
    # the update is handled again in a new unit of work with `apologise`: the customer gets the apology).
    redo_failed_flows: bool = False
    apologise: bool = False

    def publish(self, *events: Event) -> None:
        """Publish these once the transaction commits (never before)."""
        self.events.extend(events)

    async def audit(self, action: str, *, target_type: str | None = None, target_id: int | None = None,
                    details: dict[str, Any] | None = None) -> None:
        """An audit row for this work's actor and address, in this transaction."""
        from storage.services.auth import audit  # services import this module; audit is one of them

        await audit(self.session, action, staff_id=self.actor.staff_id, target_type=target_type,
                    target_id=target_id, details=details, ip=self.ip)


async def publish_committed(work: Work, bus: EventBus) -> None:
    """The one publish-after-commit: events first (consoles refresh), then the callbacks (wake the sender)."""
    for event in work.events:
        try:
            await bus.publish(event)
        except Exception:  # the change is committed; a lost live event only delays a console refresh
            log.exception("could not publish %s", event.kind)
    for callback in work.after_commit:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed")


@dataclass
class Workplace:
    """What a process needs to open units of work; built once by `homedesk` and shared by its entry points."""

    gate: WriteGate
    bus: EventBus
    settings: Settings
    texts: Texts
    # Called after every committed unit of work (the Telegram sender's wake-up, when this process has one).
    on_committed: list[Callable[[], None]] = field(default_factory=list)
    # Run at the end of every unit of work, inside its transaction, just before it commits (the web chat takes the
    # rows the work queued for its visitors, so they go out the moment it commits, with no second transaction).
    before_commit: list[Callable[[Work], Awaitable[None]]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def open(self, actor: Actor | None = None, *, ip: str | None = None,
                   ahead: bool = False) -> AsyncIterator[Work]:
        """One transaction: committed when the block ends (then events are published), rolled back on error.
        `ahead`: a short transaction someone is waiting on (see storage.gate)."""
        async with self.gate.transaction(ahead=ahead) as session:
            work = Work(session=session, settings=self.settings, texts=self.texts, actor=actor or Actor.system(),
                        ip=ip, after_commit=list(self.on_committed))
            yield work
            for hook in self.before_commit:
                await hook(work)
        await publish_committed(work, self.bus)
