"""The dialog engine: one inbound event in, replies queued in the outbox, in the caller's unit of work.

Order of business for every event:
1. find or create the customer and their open conversation, and record what they sent;
2. if a person owns the conversation (mode waiting or human) the bot stays silent when the customer chats
   (decision 6); self-service (their own requests, viewings, the menu, /start, /help, /language, leaving the
   queue) still answers, and starting any other flow offers the way out of the queue;
3. otherwise route: commands, then buttons by their flow prefix, then the current flow's step, then
   intents in free text, then the fallbacks (free text, and photos), then a polite "I did not understand" (twice
   in a row offers a person);
4. a press on a receipt's button (a ticket number, a booking, a quote) is answered with new messages, never by
   editing the receipt away;
5. a flow that raises is rolled back to where it was before this event; the customer gets an apology
   and the menu, and everything collected before is kept.
The flows, fallbacks and deep links come from one ordered table, `dialogs.flows.REGISTRY`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from dialogs import intents
from dialogs.flow import DialogContext, Registry
from dialogs.flows import REGISTRY
from dialogs.flows.handoff import busy
from dialogs.i18n import normalise_language
from dialogs.inbound import Inbound
from dialogs.replies import AskContact, AskLocation, ButtonAnswer, Photo, Reply, Say, from_receipt
from dialogs.standard import apology, expired, main_menu, misunderstood, unsupported
from dialogs.tokens import read_button_data
from storage import clock
from storage.events import message_new
from storage.models import PRIORITY_BOT, Conversation, Customer
from storage.outbox import queue_to_customer
from storage.repositories import conversations, customers
from storage.services import sla
from storage.text import written_language
from storage.unit_of_work import Actor, ActorKind, FlowFailed, Work
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
    event = _kept_message(event)
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
    _follow_language(customer, identity, event)
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

    where = (conversation.flow, conversation.step)
    replies = await _route_safely(ctx, event)
    if conversation.mode == ConversationMode.WAITING or (
            conversation.mode == ConversationMode.HUMAN and event.kind not in ("choice", "command")):
        # the chat waits for staff: its first-response clock runs (storage.services.sla)
        await sla.chat_waiting(session, conversation, topic=where[0], now=ctx.now, settings=work.settings)
    button_answer = next((r for r in replies if isinstance(r, ButtonAnswer)), None)
    if event.kind == "choice" and button_answer is None:
        button_answer = ButtonAnswer()  # every press is answered, or the client spins
    to_send = [_anchor(r, event) for r in replies if not isinstance(r, ButtonAnswer)]
    to_send = _settle_reply_keyboard(ctx, to_send, left=(conversation.flow, conversation.step) != where)
    await queue_replies(work, conversation, customer, to_send)
    return Outcome(replies=to_send, button_answer=button_answer, customer_id=customer.id,
                   conversation_id=conversation.id)


def _follow_language(customer: Customer, identity: Identity, event: Inbound) -> None:
    """Answer in the language the customer uses: chosen with /language, else written, else their app's.

    Telegram has no Simplified-Chinese interface, so many Chinese speakers' apps report English; text that is
    clearly written in one language (storage.text.written_language: never a single name or word) sets it and is
    remembered, and the app's language no longer overrides it. An explicit choice overrides both.
    """
    if customer.language_chosen:
        return
    written = written_language(event.text) if event.kind == "text" else None
    app = normalise_language(identity.language_code) if identity.language_code else None
    if written is not None:
        customer.language = written
        customer.language_from_text = written != app
    elif app is not None and not customer.language_from_text:
        customer.language = app


async def queue_replies(work: Work, conversation: Conversation, customer: Customer, replies: list[Reply],
                        priority: int = PRIORITY_BOT) -> None:
    """Send the customer these replies from the bot, in order: history rows and outbox rows (storage.outbox)."""
    for reply in replies:
        text = getattr(reply, "text", None) or getattr(reply, "caption", "") or f"[{reply.kind}]"
        await queue_to_customer(work.session, conversation, customer, reply.to_payload(), text=text, sender="bot",
                                priority=priority)


async def _route_safely(ctx: DialogContext, event: Inbound) -> list[Reply]:
    where = (ctx.update_id, ctx.customer.id, ctx.conversation.flow, ctx.conversation.step)
    if ctx.work.apologise:  # the flow failed on this event in an earlier unit of work (rolled back)
        return apology(ctx)
    if ctx.work.redo_failed_flows:  # no savepoint on the common path: the caller redoes the event on failure
        try:
            return await route(ctx, event)
        except Exception as exc:
            log.exception("dialog failed for update %s (customer %s, flow %s/%s)", *where)
            raise FlowFailed(f"dialog failed for update {ctx.update_id}") from exc
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
    if event.kind in ("text", "photo"):  # a photo outside a flow may still be something asked for (a document)
        for fallback in ctx.flows.fallbacks:
            replies = await fallback(ctx, event)
            if replies is not None:
                conversation.misunderstandings = 0
                return replies
    return await _misunderstood(ctx)


async def _while_human(ctx: DialogContext, event: Inbound) -> list[Reply]:
    """A person owns the conversation: what the customer writes goes to them and the bot stays silent, but
    self-service still answers. Buttons and commands of flows that work while a person owns the conversation act
    (their own requests, viewings and matches, the menu, /start, /help, /language, the queue's controls); the
    start of any other flow is answered with the way out of the queue (dialogs.flows.handoff.busy)."""
    if event.kind == "command":
        if event.text == "start" and event.args:
            for prefix, handler in ctx.flows.deep_links.items():
                if event.args.startswith(prefix):
                    return await handler(ctx, event.args[len(prefix):])
        flow = next((f for f in ctx.flows.flows if event.text in f.commands), None)
        if flow is None:  # a command no flow knows is no message for the person: the menu answers it
            return [main_menu(ctx)]
        if flow.answers_while_human(None):
            return await flow.on_command(ctx, event)
        return await busy(ctx, flow)
    if event.kind != "choice" or not event.choice:
        return []  # chatting: it reaches the person
    name, rest = read_button_data(event.choice)
    flow = ctx.flows.get(name)
    if flow is None:
        return expired(ctx)
    if not flow.answers_while_human(None if rest == "start" else rest):
        return await busy(ctx, flow)
    replies = await flow.start(ctx, event) if rest == "start" else await flow.on_choice(ctx, rest, event)
    return expired(ctx) if replies is None else replies


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


def _settle_reply_keyboard(ctx: DialogContext, replies: list[Reply], *, left: bool) -> list[Reply]:
    """A reply keyboard (share my phone number / cancel) never outlives its question.

    Telegram removes one only with a message that has no inline buttons and is not an edit. So once a keyboard
    was shown (remembered on the customer) and the answer does not ask again, the first such message removes it;
    when the customer left the question (`left`: the flow or step changed) and nothing in the answer can carry
    the removal, a short message of its own does. A flow asking for the removal on a reply with buttons gets the
    same treatment.
    """
    asks = any(isinstance(reply, AskContact | AskLocation) for reply in replies)
    showing = ctx.customer.reply_keyboard
    out: list[Reply] = []
    for reply in replies:
        plain = isinstance(reply, Say) and not reply.choices and not reply.edit
        if isinstance(reply, AskContact | AskLocation):
            showing = True
        elif isinstance(reply, Say) and reply.remove_keyboard and not plain:  # buttons or an edit cannot carry it
            reply = replace(reply, remove_keyboard=False)
            showing, left = True, True
        elif isinstance(reply, Say) and plain and (reply.remove_keyboard or (showing and not asks)):
            reply = replace(reply, remove_keyboard=True)
            showing = False
        out.append(reply)
    if showing and left and out and not asks:
        out.insert(0, Say(ctx.t("OK."), remove_keyboard=True))
        showing = False
    ctx.customer.reply_keyboard = showing
    return out


def _kept_message(event: Inbound) -> Inbound:
    """A button of a receipt (dialogs.replies.RECEIPT_MARK): answered with new messages, the receipt stays."""
    if event.kind != "choice" or not event.choice:
        return event
    token, receipt = from_receipt(event.choice)
    return replace(event, choice=token, choice_message_id=None) if receipt else event


def _anchor(reply: Reply, event: Inbound) -> Reply:
    """Point an edit at the message whose button was pressed; without one, or when that message is of the other
    kind (a text cannot become a photo card, nor a photo a text), an edit becomes a new message."""
    if isinstance(reply, Say | Photo) and reply.edit:
        kind = "photo" if isinstance(reply, Photo) else "text"
        if event.kind == "choice" and event.choice_message_id and event.choice_message_kind in (None, kind):
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
