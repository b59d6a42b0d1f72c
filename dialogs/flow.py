"""The pieces every flow is made of: the context it runs in, the Flow base class and the registry.

A flow is a named conversation (needs intake, booking, repair ticket...). Its buttons carry tokens
`"<flow name>:<rest>"` so the engine routes a press to the flow that drew the button. Flows register
themselves in FLOWS; the main menu lists only registered flows with a menu label, so nothing appears in
the menu before it works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply
from storage.events import Event
from storage.models import Conversation, Customer


@dataclass
class DialogContext:
    session: AsyncSession
    customer: Customer
    conversation: Conversation
    now: datetime
    update_id: int | None = None
    # Published by the caller after the transaction commits (never before: consoles must see committed data).
    events: list[Event] = field(default_factory=list)
    # Replies queued for someone else than this customer (an agent's Telegram chat...), as (chat_id, reply).
    side_messages: list[tuple[int, Reply]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.customer.language

    def t(self, message: str, /, **params: object) -> str:
        return t(self.lang, message, **params)

    @property
    def slots(self) -> dict[str, Any]:
        return self.conversation.slots

    def goto(self, flow: str | None, step: str | None, **slots: Any) -> None:
        """Move the conversation to a step, merging slots (a new dict so SQLAlchemy sees the change)."""
        self.conversation.flow = flow
        self.conversation.step = step
        if slots:
            self.conversation.slots = {**(self.conversation.slots or {}), **slots}

    def set_slots(self, **slots: Any) -> None:
        self.conversation.slots = {**(self.conversation.slots or {}), **slots}

    def clear(self) -> None:
        """Leave any flow; collected needs etc. are saved by their flows, not kept in slots."""
        self.conversation.flow = None
        self.conversation.step = None
        self.conversation.slots = {}


class Flow:
    """Base class. Override what the flow needs; every hook returns replies, or None for 'not mine'."""

    name: ClassVar[str]
    # msgid of the main-menu label (marked with N_), or None when the flow has no menu entry.
    menu_label: ClassVar[str | None] = None
    menu_order: ClassVar[int] = 100
    # Slash commands this flow answers (without '/').
    commands: ClassVar[Sequence[str]] = ()
    # Words that start this flow from free text, any language; matched by dialogs.intents.
    intent_words: ClassVar[Sequence[str]] = ()
    # Buttons of this flow still work while a person owns the conversation (handoff controls, surveys).
    works_while_human: ClassVar[bool] = False

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        raise NotImplementedError

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        """A button of this flow was pressed (token without the '<name>:' prefix). None = stale or forged."""
        return None

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        """Text/photo/location/contact while this flow is current. None = not the expected answer."""
        return None

    async def on_command(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return await self.start(ctx, event)

    def available(self, ctx: DialogContext) -> bool:
        """Whether the menu shows this flow for this customer."""
        return True

    def choice(self, label: str, rest: str) -> Choice:
        return Choice(label=label, token=f"{self.name}:{rest}")


FLOWS: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    if flow.name in FLOWS:
        raise ValueError(f"flow {flow.name!r} registered twice")
    if ":" in flow.name:
        raise ValueError("flow names cannot contain ':'")
    FLOWS[flow.name] = flow
    return flow


def menu_flows(ctx: DialogContext) -> list[Flow]:
    return sorted(
        (f for f in FLOWS.values() if f.menu_label and f.available(ctx)), key=lambda f: (f.menu_order, f.name)
    )
