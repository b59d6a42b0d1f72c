"""The pieces every flow is made of: the context it runs in, the Flow base class and the registry type.

A flow is a named conversation (needs intake, booking, repair ticket...). Its buttons carry tokens
`"<flow name>:<rest>"` so the engine routes a press to the flow that drew the button; the rest is a typed
`dialogs.tokens.Token`. The flows the engine
knows are listed, in menu order, in one table (`dialogs.flows.REGISTRY`); the main menu lists those with a menu
label, so nothing appears in the menu before it works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply
from dialogs.tokens import Token, button_data
from storage.models import Conversation, Customer
from storage.settings import Settings
from storage.unit_of_work import Work


@dataclass
class DialogContext:
    """One event of one customer's conversation, inside the unit of work that handles it."""

    work: Work
    customer: Customer
    conversation: Conversation
    now: datetime
    flows: Registry  # what the engine routes with; the menu and the standard answers list these flows
    update_id: int | None = None

    @property
    def session(self) -> AsyncSession:
        return self.work.session

    @property
    def settings(self) -> Settings:
        return self.work.settings

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
    # Slash commands this flow answers (without '/').
    commands: ClassVar[Sequence[str]] = ()
    # Words that start this flow from free text, any language; matched by dialogs.intents.
    intent_words: ClassVar[Sequence[str]] = ()
    # Self-service that still answers while a person owns the conversation (the customer's own requests,
    # viewings and matches, the menu and language, handoff controls, surveys): the flow's buttons, its start and
    # its commands. Other flows are answered with the way out of the queue (dialogs.flows.handoff); free text
    # always goes to the person.
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

    def answers_while_human(self, token: str | None) -> bool:
        """Whether this button (its token without the flow's name; None for the flow's start or a command)
        answers while a person owns the conversation. Override to let some buttons of a flow through."""
        return self.works_while_human

    def menu_notice(self, ctx: DialogContext) -> tuple[str, list[list[Choice]]] | None:
        """A line and buttons this flow puts on top of the main menu in the customer's current state."""
        return None

    def available(self, ctx: DialogContext) -> bool:
        """Whether the menu shows this flow for this customer."""
        return True

    def button(self, label: str, token: Token) -> Choice:
        """A button of this flow: a press comes back to `on_choice` as the token's text."""
        return Choice(label=label, token=button_data(self.name, token))


# `/start <prefix><payload>` deep links handled outside flows (e.g. staff linking their Telegram account).
DeepLinkHandler = Callable[[DialogContext, str], Awaitable[list[Reply]]]
# Free text (or a photo) no flow claimed (a need in one sentence, FAQ answers, a document an owner was asked for);
# None when they have nothing to say.
FallbackHandler = Callable[[DialogContext, Inbound], Awaitable[list[Reply] | None]]


class Registry:
    """The flows in menu order, the free-text fallbacks in the order they are tried, and the deep links."""

    def __init__(self, flows: Sequence[Flow], fallbacks: Sequence[FallbackHandler] = (),
                 deep_links: Mapping[str, DeepLinkHandler] | None = None) -> None:
        by_name: dict[str, Flow] = {}
        for flow in flows:
            if ":" in flow.name:
                raise ValueError(f"flow name {flow.name!r} contains ':' (the token separator)")
            if flow.name in by_name:
                raise ValueError(f"flow {flow.name!r} is listed twice")
            by_name[flow.name] = flow
        self.flows: tuple[Flow, ...] = tuple(flows)
        self.fallbacks: tuple[FallbackHandler, ...] = tuple(fallbacks)
        self.deep_links: Mapping[str, DeepLinkHandler] = MappingProxyType(dict(deep_links or {}))
        self._by_name = by_name

    def get(self, name: str) -> Flow | None:
        return self._by_name.get(name)

    def in_menu(self, ctx: DialogContext) -> list[Flow]:
        """The flows the main menu offers this customer, in the table's order."""
        return [flow for flow in self.flows if flow.menu_label and flow.available(ctx)]
