"""Drive the dialog engine without Telegram: one event in, the replies that went to the outbox out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.engine import Identity, Outcome, process
from dialogs.flow import Registry
from dialogs.flows import REGISTRY
from dialogs.inbound import Inbound
from dialogs.replies import Reply, reply_from_payload
from storage.events import Event
from storage.models import Customer, OutboxMessage
from storage.settings import Settings
from storage.unit_of_work import Actor
from tests.workplace import SETTINGS, workplace_for

_update_ids = itertools.count(1)


@dataclass
class FakeCustomer:
    """A customer talking to the engine directly; `replies` holds what the outbox got for them."""

    sessions: async_sessionmaker[AsyncSession]
    user_id: int = 1001
    channel: str = "telegram"  # "web": a web chat visitor (visitor id f"visitor-{user_id}", no chat)
    language_code: str = "en"
    first_name: str = "Ann"
    settings: Settings = field(default_factory=lambda: SETTINGS)
    flows: Registry = REGISTRY
    last: Outcome | None = None
    events: list[Event] = field(default_factory=list)  # what the last event's unit of work published
    replies: list[Reply] = field(default_factory=list)

    @property
    def identity(self) -> Identity:
        if self.channel == "web":
            return Identity(channel="web", external_id=f"visitor-{self.user_id}", first_name=self.first_name,
                            language_code=self.language_code)
        return Identity(channel="telegram", external_id=str(self.user_id), address=self.user_id,
                        first_name=self.first_name, language_code=self.language_code)

    async def send(self, event: Inbound) -> list[Reply]:
        async with workplace_for(self.sessions, settings=self.settings).open(Actor.customer()) as work:
            self.last = await process(work, self.identity, event, next(_update_ids), flows=self.flows)
        self.events = work.events
        async with self.sessions() as session:
            mine = OutboxMessage.chat_id == self.user_id
            if self.channel == "web":
                mine = OutboxMessage.customer_id == select(Customer.id).where(
                    Customer.web_visitor_id == f"visitor-{self.user_id}").scalar_subquery()
            rows = await session.scalars(select(OutboxMessage).where(mine).order_by(OutboxMessage.id))
            everything = [reply_from_payload(row.payload) for row in rows]
        new = everything[len(self.replies):]
        self.replies = everything
        return new

    async def text(self, text: str) -> list[Reply]:
        return await self.send(Inbound(kind="text", text=text, language_code=self.language_code))

    async def command(self, name: str, args: str = "") -> list[Reply]:
        return await self.send(Inbound(kind="command", text=name, args=args, language_code=self.language_code))

    async def press(self, token: str, message_id: int | None = 1) -> list[Reply]:
        return await self.send(Inbound(kind="choice", choice=token, choice_message_id=message_id,
                                       language_code=self.language_code))

    async def press_label(self, label: str) -> list[Reply]:
        for reply in reversed(self.replies):
            for row in getattr(reply, "choices", []):
                for choice in row:
                    if choice.label == label:
                        return await self.press(choice.token)
        raise AssertionError(f"no button labelled {label!r} in {self.replies!r}")
