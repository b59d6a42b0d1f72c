"""Talking to a person: the customer's side of the handoff.

The customer asks (menu button, /agent, or words like "human", 人工, 客服), or presses the "talk to a person"
button the engine offers after repeated misunderstandings. The conversation goes into the queue
(storage.services.handoff) and the customer is told their place in line and, inside business hours, the
expected wait; outside business hours, when people are back, with the choice to leave a message.

While waiting or with a person the engine keeps the bot silent; only this flow's buttons still work (leave a
message, back to the assistant). What the customer is told when a person or the system acts (an agent joined,
back to the assistant, the survey) lives in dialogs.notices. Staff linking their Telegram chat from the console
(`/start link_<token>`, listed in dialogs.flows.REGISTRY's deep links) is answered here as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialogs.flow import DialogContext, Flow
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.notices import CUSTOMER_NOTICES
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data
from storage.events import conversation_changed
from storage.services import handoff, staff_link
from storage.services.handoff import QueueStatus
from storage.services.sla import Calendar
from storage.vocabulary import ConversationMode

NAME = "handoff"
MENU_LABEL = N_("Talk to a person")


class HandoffAction(StrEnum):
    START = "start"  # the engine routes "handoff:start" here only while a person owns the conversation
    LEAVE_MESSAGE = "leave"
    BACK_TO_ASSISTANT = "cancel"


@dataclass(frozen=True)
class HandoffButton(Token):
    prefix = ""
    action: HandoffAction


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
    when = status.next_open_at.astimezone(hours.tz).strftime("%Y-%m-%d %H:%M") if status.next_open_at else ""
    return t(lang, "Our team is away right now and will reply from {when}. You are number {position} in line. "
                   "You can leave a message now and we will read it first.",
             when=when, position=status.position)


def _cancel_choice(lang: str) -> Choice:
    return _button(t(lang, "Back to the assistant"), HandoffAction.BACK_TO_ASSISTANT)


def returned_to_bot(lang: str) -> Say:
    return CUSTOMER_NOTICES["returned_to_bot"](lang, {})  # the same words as when an agent returns them


class HandoffFlow(Flow):
    name = NAME
    menu_label = MENU_LABEL
    commands = ("agent", "human")
    intent_words = ("agent", "human", "person", "talk to a person", "real person", "人工", "客服", "转人工")
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return await queue_and_tell(ctx, "misunderstood" if ctx.conversation.misunderstandings >= 2 else "asked")

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        pressed = HandoffButton.decode(token)
        mode = ctx.conversation.mode
        match pressed.action if pressed is not None else None:
            case HandoffAction.START:  # pressed again while already in line or with a person
                if mode == ConversationMode.WAITING:
                    return await queue_and_tell(ctx, ctx.conversation.handoff_reason or "asked")
                return [Say(ctx.t("A person is already with you in this chat."))]
            case HandoffAction.LEAVE_MESSAGE:
                if mode != ConversationMode.WAITING:
                    return []
                return [Say(ctx.t("Please write your message here, with any photos. A person will read it as soon "
                                  "as the team is back."))]
            case HandoffAction.BACK_TO_ASSISTANT:
                if mode == ConversationMode.WAITING and await handoff.cancel_request(ctx.session, ctx.conversation):
                    ctx.clear()
                    ctx.work.publish(conversation_changed(ctx.conversation))
                    return [returned_to_bot(ctx.lang)]
                if mode == ConversationMode.HUMAN:
                    return [Say(ctx.t("A person is already with you in this chat."))]
        return None


async def queue_and_tell(ctx: DialogContext, reason: str) -> list[Reply]:
    """Put the conversation in line and return the message for the customer. Other flows (complaints) call this."""
    ctx.clear()
    await handoff.request_handoff(ctx.session, ctx.conversation, reason, now=ctx.now)
    hours = await business_hours(ctx)
    status = await handoff.queue_status(ctx.session, ctx.conversation, hours, now=ctx.now)
    ctx.work.publish(conversation_changed(ctx.conversation, queued=True))
    if status.open_now:
        return [Say(in_line_text(ctx.lang, status, hours), choices=[[_cancel_choice(ctx.lang)]])]
    return [Say(in_line_text(ctx.lang, status, hours),
                choices=[[_button(ctx.t("Leave a message"), HandoffAction.LEAVE_MESSAGE)], [_cancel_choice(ctx.lang)]])]


async def link_staff_chat(ctx: DialogContext, token: str) -> list[Reply]:
    """`/start link_<token>` from a staff member's profile page: reminders for them now come to this chat."""
    chat = ctx.customer.chat_id  # only a channel with chats can carry reminders (a web visitor has none)
    staff = await staff_link.consume_link_token(ctx.session, token, chat, now=ctx.now) if chat is not None else None
    if staff is None:
        return [Say(ctx.t("This link is invalid or has expired. Make a new one on your profile page in the console."))]
    return [Say(ctx.t("Done: this chat is now linked to the Homedesk console account of {name}. Reminders will "
                      "arrive here.", name=staff.name))]

