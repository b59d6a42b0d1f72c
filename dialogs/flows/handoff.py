"""Talking to a person: the customer's side of the handoff.

The customer asks (menu button, /agent, or words like "human", 人工, 客服), or presses the "talk to a person"
button the engine offers after repeated misunderstandings. The conversation goes into the queue
(storage.services.handoff) and the customer is told their place in line and, inside business hours, the
expected wait; outside business hours, when people are back, with the choice to leave a message. Either way the
message offers what the customer can still do: their requests, the menu, and leaving the queue ("Cancel my
request for a person"), which is on the main menu too for as long as they wait.

While waiting or with a person the engine keeps the bot silent when the customer chats; self-service still
answers (dialogs.engine). Starting any other flow is answered by `busy`: while waiting, with the choice to leave
the queue and go on by themselves; with a person, by pointing to that person. What the customer is told when a
person or the system acts (an agent joined, back to the assistant, the survey) lives in dialogs.notices. Staff
linking their Telegram chat from the console (`/start link_<token>`, listed in dialogs.flows.REGISTRY's deep
links) is answered here as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialogs.cards import when
from dialogs.flow import DialogContext, Flow
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.notices import CUSTOMER_NOTICES
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data, decode
from storage.events import conversation_changed
from storage.services import handoff, staff_link
from storage.services.handoff import QueueStatus
from storage.services.sla import Calendar
from storage.vocabulary import ConversationMode

NAME = "handoff"
MENU_LABEL = N_("Talk to a person")


class HandoffAction(StrEnum):
    START = "start"  # the engine routes "handoff:start" to `start`; kept for buttons drawn before
    LEAVE_MESSAGE = "leave"
    BACK_TO_ASSISTANT = "cancel"  # "Cancel my request for a person"


@dataclass(frozen=True)
class HandoffButton(Token):
    prefix = ""
    action: HandoffAction


@dataclass(frozen=True)
class LeaveAndStart(Token):
    """Leave the queue and start a flow the customer asked for while waiting (its name in the registry)."""

    prefix = "go"
    flow: str


def _button(label: str, action: HandoffAction) -> Choice:
    return Choice(label, button_data(NAME, HandoffButton(action)))


async def business_hours(ctx: DialogContext) -> Calendar:
    settings = ctx.settings
    return await handoff.chat_calendar(ctx.session, settings.business_hours, settings.business_days, settings.tz)


def in_line_text(lang: str, status: QueueStatus, hours: Calendar) -> str:
    if status.open_now:
        return t(lang, "You are in line to talk to a person: number {position}. Expected wait: about {minutes} min. "
                       "Write here whenever you like; the assistant will stay quiet until then.",
                 position=status.position, minutes=status.expected_wait_minutes or 1)
    back = when(lang, status.next_open_at, hours.tz) if status.next_open_at else ""
    return t(lang, "Our team is away right now and will reply from {when}. You are number {position} in line. "
                   "You can leave a message now and we will read it first.",
             when=back, position=status.position)


def _cancel_choice(lang: str) -> Choice:
    return _button(t(lang, "Cancel my request for a person"), HandoffAction.BACK_TO_ASSISTANT)


def _while_waiting(lang: str, *, leave_message: bool) -> list[list[Choice]]:
    """What a waiting customer can still do: leave a message (out of hours), their requests, the menu, leave."""
    rows = [[_button(t(lang, "Leave a message"), HandoffAction.LEAVE_MESSAGE)]] if leave_message else []
    return [*rows, [Choice(t(lang, "My requests"), "tickets:start"), Choice(t(lang, "Main menu"), "menu:main")],
            [_cancel_choice(lang)]]


def returned_to_bot(lang: str) -> Say:
    return CUSTOMER_NOTICES["returned_to_bot"](lang, {})  # the same words as when an agent returns them


class HandoffFlow(Flow):
    name = NAME
    menu_label = MENU_LABEL
    commands = ("agent", "human")
    intent_words = ("agent", "human", "person", "talk to a person", "real person", "人工", "客服", "转人工")
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        mode = ctx.conversation.mode
        if mode == ConversationMode.HUMAN:
            return [Say(ctx.t("A person is already with you in this chat."))]
        if mode == ConversationMode.WAITING:  # asked again: where they stand
            return await queue_and_tell(ctx, ctx.conversation.handoff_reason or "asked")
        return await queue_and_tell(ctx, "misunderstood" if ctx.conversation.misunderstandings >= 2 else "asked")

    def menu_notice(self, ctx: DialogContext) -> tuple[str, list[list[Choice]]] | None:
        if ctx.conversation.mode == ConversationMode.WAITING:
            return ctx.t("You are in line for a person."), [[_cancel_choice(ctx.lang)]]
        if ctx.conversation.mode == ConversationMode.HUMAN:
            return ctx.t("A person from our team is with you in this chat."), []
        return None

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        pressed = decode(token, HandoffButton, LeaveAndStart)
        mode = ctx.conversation.mode
        match pressed:
            case HandoffButton(HandoffAction.START):
                return await self.start(ctx, event)
            case HandoffButton(HandoffAction.LEAVE_MESSAGE):
                if mode != ConversationMode.WAITING:
                    return []
                return [Say(ctx.t("Please write your message here, with any photos. A person will read it as soon "
                                  "as the team is back."), choices=[[_cancel_choice(ctx.lang)]])]
            case HandoffButton(HandoffAction.BACK_TO_ASSISTANT):
                if await self._leave(ctx) or mode == ConversationMode.BOT:
                    return [returned_to_bot(ctx.lang)]
                return [Say(ctx.t("A person is already with you in this chat."))]
            case LeaveAndStart(name):
                target = ctx.flows.get(name)
                if target is None or target is self:
                    return None
                if mode == ConversationMode.HUMAN:
                    return [Say(ctx.t("A person is already with you in this chat."))]
                left = await self._leave(ctx)
                replies = await target.start(ctx, event)
                return [Say(ctx.t("Your request for a person is cancelled.")), *replies] if left else replies
        return None

    async def _leave(self, ctx: DialogContext) -> bool:
        """Out of the queue and back to the assistant; False when not waiting (a person took it meanwhile)."""
        if ctx.conversation.mode != ConversationMode.WAITING:
            return False
        if not await handoff.cancel_request(ctx.session, ctx.conversation):
            return False
        ctx.clear()
        ctx.work.publish(conversation_changed(ctx.conversation))
        return True


async def busy(ctx: DialogContext, flow: Flow) -> list[Reply]:
    """The customer started a self-service flow (a repair, a search) while a person owns the conversation.

    While waiting, they may leave the queue and go on by themselves, or stay and tell the person; with a person,
    that person can do it for them. Either way the question is answered, never met with silence.
    """
    what = ctx.t(flow.menu_label) if flow.menu_label else ""
    if ctx.conversation.mode == ConversationMode.HUMAN:
        return [Say(ctx.t("A person from our team is with you in this chat: tell them here what you need, and they "
                          "will take care of it."))]
    lead = ctx.t("You are in line for a person. To do “{what}” yourself now, cancel your request for a person "
                 "first; or stay in line and tell the person what you need.", what=what) if what else \
        ctx.t("You are in line for a person. To do this yourself now, cancel your request for a person first; or "
              "stay in line and tell the person what you need.")
    leave = Choice(ctx.t("Cancel my request for a person and continue"),
                   button_data(NAME, LeaveAndStart(flow.name)))
    return [Say(lead, choices=[[leave], [Choice(ctx.t("My requests"), "tickets:start"),
                                         Choice(ctx.t("Main menu"), "menu:main")]])]


async def queue_and_tell(ctx: DialogContext, reason: str) -> list[Reply]:
    """Put the conversation in line and return the message for the customer. Other flows (complaints) call this."""
    ctx.clear()
    await handoff.request_handoff(ctx.session, ctx.conversation, reason, now=ctx.now)
    hours = await business_hours(ctx)
    status = await handoff.queue_status(ctx.session, ctx.conversation, hours, now=ctx.now)
    ctx.work.publish(conversation_changed(ctx.conversation, queued=True))
    choices = _while_waiting(ctx.lang, leave_message=not status.open_now)
    return [Say(in_line_text(ctx.lang, status, hours), choices=choices)]


async def link_staff_chat(ctx: DialogContext, token: str) -> list[Reply]:
    """`/start link_<token>` from a staff member's profile page: reminders for them now come to this chat."""
    chat = ctx.customer.chat_id  # only a channel with chats can carry reminders (a web visitor has none)
    staff = await staff_link.consume_link_token(ctx.session, token, chat, now=ctx.now) if chat is not None else None
    if staff is None:
        return [Say(ctx.t("This link is invalid or has expired. Make a new one on your profile page in the console."))]
    return [Say(ctx.t("Done: this chat is now linked to the Homedesk console account of {name}. Reminders will "
                      "arrive here.", name=staff.name))]

