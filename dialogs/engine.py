"""The dialog engine: one inbound event in, replies queued in the outbox, in the caller's unit of work.

Order of business for every event:
1. find or create the customer and their open conversation, and record what they sent;
2. if a person owns the conversation (mode waiting or human) the bot stays silent (decision 6);
3. otherwise route: commands, then buttons by their flow prefix, then the current flow's step, then
   intents in free text, then the fallbacks, then a polite "I did not understand" (twice in a row offers a
   person);
4. a flow that raises is rolled back to where it was before this event; the customer gets an apology
   and the menu, and everything collected before is kept.
The flows, fallbacks and deep links come from one ordered table, `dialogs.flows.REGISTRY`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from dialogs import intents
from dialogs.flow import DialogContext, Registry
from dialogs.flows import REGISTRY
from dialogs.i18n import normalise_language
from dialogs.inbound import Inbound
from dialogs.replies import ButtonAnswer, Photo, Reply, Say
from dialogs.standard import apology, expired, misunderstood, unsupported
from dialogs.tokens import read_button_data
from storage import clock
from storage.events import message_new
from storage.models import PRIORITY_BOT, Conversation, Customer
from storage.outbox import queue_to_customer
from storage.repositories import conversations, customers
from storage.unit_of_work import Actor, ActorKind, Work
from storage.vocabulary import ConversationMode

log = logging.getLogger(__name__)
MISUNDERSTANDINGS_BEFORE_OFFERING_A_PERSON = 2


@dataclass(frozen=True)
class Identity:
    """Who sent the event, as the channel knows them: the channel's name (storage.vocabulary.Channel) and its id
    for the person; `address` is where that channel delivers replies when it is not the person's id (a chat), None
    when the channel delivers by customer."""

    channel: str
    external_id: str
    address: int | None = None
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass
class Outcome:
    """What the engine did; its live events are in the unit of work, published when it commits."""

    replies: list[Reply]
    button_answer: ButtonAnswer | None
    customer_id: int
    conversation_id: int


async def process(
    work: Work, identity: Identity, event: Inbound, update_id: int | None = None, *, flows: Registry = REGISTRY
) -> Outcome:
    """Handle one event inside the caller's unit of work; its events are published when the caller commits."""
    session = work.session
    language = normalise_language(identity.language_code)
    customer, _ = await customers.get_or_create(
        session,
        channel=identity.channel,
        external_id=identity.external_id,
        address=identity.address,
        first_name=identity.first_name,
        last_name=identity.last_name,
        username=identity.username,
        language=language,
    )
    if identity.language_code and not customer.language_chosen:
        customer.language = language
    if work.actor.kind is ActorKind.CUSTOMER:
        work.actor = Actor.customer(customer.id)  # the channel knew an identity; the audit names the customer
    conversation = await conversations.current(session, customer)
    ctx = DialogContext(work=work, customer=customer, conversation=conversation, now=clock.now(), flows=flows,
                        update_id=update_id)
    inbound = await conversations.record(
        session, conversation, direction="in", sender="customer", text=event.summary()[:4000],
        kind=event.kind, payload=_inbound_payload(event), update_id=update_id,
    )
    work.publish(message_new(inbound, customer_id=customer.id, mode=conversation.mode))

    replies = await _route_safely(ctx, event)
    button_answer = next((r for r in replies if isinstance(r, ButtonAnswer)), None)
    if event.kind == "choice" and button_answer is None:
        button_answer = ButtonAnswer()  # every press is answered, or the client spins
    to_send = [_anchor(r, event) for r in replies if not isinstance(r, ButtonAnswer)]
    await queue_replies(work, conversation, customer, to_send)
    return Outcome(replies=to_send, button_answer=button_answer, customer_id=customer.id,
                   conversation_id=conversation.id)


async def queue_replies(work: Work, conversation: Conversation, customer: Customer, replies: list[Reply],
                        priority: int = PRIORITY_BOT) -> None:
    """Send the customer these replies from the bot, in order: history rows and outbox rows (storage.outbox)."""
    for reply in replies:
        text = getattr(reply, "text", None) or getattr(reply, "caption", "") or f"[{reply.kind}]"
        await queue_to_customer(work.session, conversation, customer, reply.to_payload(), text=text, sender="bot",
                                priority=priority)


async def _route_safely(ctx: DialogContext, event: Inbound) -> list[Reply]:
    where = (ctx.update_id, ctx.customer.id, ctx.conversation.flow, ctx.conversation.step)
    events_before, callbacks_before = len(ctx.work.events), len(ctx.work.after_commit)
    try:
        async with ctx.session.begin_nested():
            return await route(ctx, event)
    except Exception:
        # The savepoint rolled back this event's changes only; reload what the flow had touched, and forget
        # what it meant to publish or send about changes that no longer exist.
        log.exception("dialog failed for update %s (customer %s, flow %s/%s)", *where)
        await ctx.session.refresh(ctx.conversation)
        await ctx.session.refresh(ctx.customer)
        del ctx.work.events[events_before:]
        del ctx.work.after_commit[callbacks_before:]
        return apology(ctx)


async def route(ctx: DialogContext, event: Inbound) -> list[Reply]:
    conversation = ctx.conversation
    if conversation.mode != ConversationMode.BOT:
        return await _while_human(ctx, event)
    if event.kind == "command":
        return await _command(ctx, event)
    if event.kind == "choice":
        return await _choice(ctx, event)
    if event.kind == "unsupported":
        return unsupported(ctx)
    current = ctx.flows.get(conversation.flow or "")
    if current is not None:
        replies = await current.on_input(ctx, event)
        if replies is not None:
            conversation.misunderstandings = 0
            return replies
    if event.kind == "text":
        flow = intents.detect(event.text, ctx.flows.flows)
        if flow is not None:
            conversation.misunderstandings = 0
            return await flow.start(ctx, event)
        for fallback in ctx.flows.fallbacks:
            replies = await fallback(ctx, event)
            if replies is not None:
                conversation.misunderstandings = 0
                return replies
    return await _misunderstood(ctx)


async def _while_human(ctx: DialogContext, event: Inbound) -> list[Reply]:
    """Silence: a person owns the conversation. Only buttons of flows marked works_while_human still act."""
    if event.kind == "choice" and event.choice:
        name, rest = read_button_data(event.choice)
        flow = ctx.flows.get(name)
        if flow is not None and flow.works_while_human:
            replies = await flow.on_choice(ctx, rest, event)
            return replies or []
    return []


async def _command(ctx: DialogContext, event: Inbound) -> list[Reply]:
    if event.text == "start" and event.args:
        for prefix, handler in ctx.flows.deep_links.items():
            if event.args.startswith(prefix):
                return await handler(ctx, event.args[len(prefix):])
    for flow in ctx.flows.flows:
        if event.text in flow.commands:
            ctx.conversation.misunderstandings = 0
            return await flow.on_command(ctx, event)
    return await _misunderstood(ctx)


async def _choice(ctx: DialogContext, event: Inbound) -> list[Reply]:
    prefix, rest = read_button_data(event.choice or "")
    flow = ctx.flows.get(prefix)
    if flow is None:
        return expired(ctx)
    replies = await flow.start(ctx, event) if rest == "start" else await flow.on_choice(ctx, rest, event)
    if replies is None:
        return expired(ctx)
    ctx.conversation.misunderstandings = 0
    return replies


async def _misunderstood(ctx: DialogContext) -> list[Reply]:
    ctx.conversation.misunderstandings += 1
    offer_person = ctx.conversation.misunderstandings >= MISUNDERSTANDINGS_BEFORE_OFFERING_A_PERSON
    return misunderstood(ctx, offer_person=offer_person)


def _anchor(reply: Reply, event: Inbound) -> Reply:
    """Point an edit at the message whose button was pressed; without one, an edit becomes a new message."""
    if isinstance(reply, Say | Photo) and reply.edit:
        if event.kind == "choice" and event.choice_message_id:
            return replace(reply, edit_message_id=event.choice_message_id)
        return replace(reply, edit=False)
    return reply


def _inbound_payload(event: Inbound) -> dict[str, object]:
    payload: dict[str, object] = {}
    if event.photo_file_ids:
        payload["photo_file_ids"] = list(event.photo_file_ids)
    if event.latitude is not None:
        payload["location"] = [event.latitude, event.longitude]
    if event.phone:
        payload["phone"] = event.phone
    if event.choice:
        payload["choice"] = event.choice
    return payload
