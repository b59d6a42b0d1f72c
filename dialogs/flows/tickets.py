"""My requests: the customer's tickets, adding information or photos, accepting a quote, confirming or reopening
a resolution. The buttons also work while a person owns the conversation (a complaint is handled by people).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from dialogs.flow import DialogContext, Flow
from dialogs.flows.survey import survey_reply
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.names import CATEGORY_NAMES, STATUS_NAMES
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data, decode
from storage.events import ticket_changed
from storage.models import Survey, Ticket
from storage.services import reminders, tickets
from storage.services.tickets import TicketError
from storage.vocabulary import FINISHED_TICKET_STATUSES, ConversationMode, TicketStatus

NAME = "tickets"


@dataclass(frozen=True)
class BackToList(Token):
    prefix = "list"


@dataclass(frozen=True)
class DoneAdding(Token):
    prefix = "done"


class TicketAction(StrEnum):
    SHOW = "v"
    ADD = "add"
    ACCEPT_QUOTE = "qa"
    DECLINE_QUOTE = "qd"
    CONFIRM_FIXED = "ok"
    REOPEN = "no"


@dataclass(frozen=True)
class TicketButton(Token):
    """A button about one of the customer's tickets (`qa:42`); whose ticket it is, is checked on every press."""

    prefix = ""
    action: TicketAction
    ticket_id: int


def ticket_button(label: str, action: TicketAction, ticket_id: int) -> Choice:
    """A button about a ticket drawn outside this flow (the reminder tick's quote and resolution messages)."""
    return Choice(label, button_data(NAME, TicketButton(action, ticket_id)))


class TicketsFlow(Flow):
    name = NAME
    menu_label = N_("My requests")
    commands = ("tickets", "requests")
    intent_words = ("my requests", "my tickets", "ticket status", "我的工单", "我的报修", "工单", "进度")
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        if ctx.conversation.mode == ConversationMode.BOT:
            ctx.clear()
        rows = await tickets.customer_tickets(ctx.session, ctx.customer.id)
        if not rows:
            return [Say(ctx.t("You have no requests yet."),
                        choices=[[Choice(ctx.t("Report a repair"), "repair:start")],
                                 [Choice(ctx.t("Main menu"), "menu:main")]])]
        buttons = [[self._about(t, TicketAction.SHOW, f"{t.number} · {ctx.t(STATUS_NAMES.get(t.status, t.status))}")]
                   for t in rows]
        return [Say(ctx.t("Your requests:"), choices=[*buttons, [Choice(ctx.t("Main menu"), "menu:main")]])]

    def _about(self, ticket: Ticket, action: TicketAction, label: str) -> Choice:
        return self.button(label, TicketButton(action, ticket.id))

    async def _mine(self, ctx: DialogContext, ticket_id: int) -> Ticket | None:
        ticket = await ctx.session.get(Ticket, ticket_id)
        return ticket if ticket is not None and ticket.customer_id == ctx.customer.id else None

    def _details(self, ctx: DialogContext, ticket: Ticket) -> Say:
        lines = [
            ctx.t("Request {number}", number=ticket.number),
            ctx.t("Category: {category}", category=ctx.t(CATEGORY_NAMES.get(ticket.category, ticket.category))),
            ctx.t("Status: {status}", status=ctx.t(STATUS_NAMES.get(ticket.status, ticket.status))),
        ]
        if ticket.description:
            lines.append(ctx.t("Description: {text}", text=ticket.description[:500]))
        if ticket.quote_amount is not None:
            lines.append(ctx.t("Quote: {amount} CNY", amount=ticket.quote_amount))
        rows: list[list[Choice]] = []
        if ticket.status == TicketStatus.RESOLVED:
            rows.append([self._about(ticket, TicketAction.CONFIRM_FIXED, ctx.t("Yes, it is fixed")),
                         self._about(ticket, TicketAction.REOPEN, ctx.t("No, reopen it"))])
        if (ticket.quote_amount is not None and ticket.quote_accepted_at is None
                and ticket.status == TicketStatus.WAITING_CUSTOMER):
            rows.append([self._about(ticket, TicketAction.ACCEPT_QUOTE, ctx.t("Accept the quote")),
                         self._about(ticket, TicketAction.DECLINE_QUOTE, ctx.t("Decline"))])
        if ticket.status not in FINISHED_TICKET_STATUSES:
            rows.append([self._about(ticket, TicketAction.ADD, ctx.t("Add information or photos"))])
        rows.append([self.button(ctx.t("Back to my requests"), BackToList())])
        return Say("\n".join(lines), choices=rows, edit=True)

    def _done(self, ctx: DialogContext) -> list[list[Choice]]:
        return [[self.button(ctx.t("Done"), DoneAdding())]]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, BackToList, DoneAdding, TicketButton):
            case BackToList():
                return await self.start(ctx, event)
            case DoneAdding():
                if ctx.conversation.flow == NAME:
                    ctx.clear()
                return [Say(ctx.t("Thank you, it is added to your request."))]
            case TicketButton(action, ticket_id):
                ticket = await self._mine(ctx, ticket_id)
                if ticket is None:
                    return None
                try:
                    return await self._act(ctx, action, ticket)
                except TicketError:
                    return [Say(ctx.t("This request has changed meanwhile. Here is where it stands."), edit=False),
                            self._details(ctx, ticket)]
        return None

    async def _act(self, ctx: DialogContext, action: TicketAction, ticket: Ticket) -> list[Reply]:
        match action:
            case TicketAction.ADD:
                if ticket.status in FINISHED_TICKET_STATUSES or ctx.conversation.mode != ConversationMode.BOT:
                    return [self._details(ctx, ticket)]
                ctx.goto(NAME, "add", ticket_id=ticket.id)
                return [Say(ctx.t("Write what you would like to add, or send photos. Press Done when finished."),
                            choices=self._done(ctx))]
            case TicketAction.ACCEPT_QUOTE:
                await tickets.accept_quote(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
                ctx.work.publish(ticket_changed(ticket))
                return [Say(ctx.t("Thank you, you accepted the quote for {number}. We will start the work.",
                                  number=ticket.number), edit=True)]
            case TicketAction.DECLINE_QUOTE:
                await tickets.decline_quote(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
                ctx.work.publish(ticket_changed(ticket))
                return [Say(ctx.t("You declined the quote; request {number} is cancelled.", number=ticket.number),
                            edit=True)]
            case TicketAction.CONFIRM_FIXED:
                return await self._confirm(ctx, ticket)
            case TicketAction.REOPEN:
                await tickets.reopen(ctx.session, ticket, ctx.customer.id, "rejected by the customer",
                                     settings=ctx.settings)
                ctx.work.publish(ticket_changed(ticket))
                if ctx.conversation.mode == ConversationMode.BOT:
                    ctx.goto(NAME, "add", ticket_id=ticket.id)
                return [Say(ctx.t("Request {number} is reopened. What is still wrong? Write it here or send photos, "
                                  "then press Done.", number=ticket.number), choices=self._done(ctx), edit=True)]
        return [self._details(ctx, ticket)]  # TicketAction.SHOW

    async def _confirm(self, ctx: DialogContext, ticket: Ticket) -> list[Reply]:
        await tickets.confirm_resolution(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
        ctx.work.publish(ticket_changed(ticket))
        done = Say(ctx.t("Great, request {number} is closed. Thank you!", number=ticket.number), edit=True)
        row = await ctx.session.scalar(
            select(Survey).where(Survey.subject_type == "ticket", Survey.subject_id == ticket.id)
        )
        if row is None or row.score is not None:
            return [done]
        # The survey follows at once in this chat; the reminder queued for it is no longer needed.
        await reminders.cancel_for(ctx.session, "survey", row.id)
        return [done, survey_reply(ctx.lang, row, ticket.number)]

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if ctx.conversation.step != "add" or event.kind not in ("text", "photo"):
            return None
        ticket_id = ctx.slots.get("ticket_id")
        ticket = await self._mine(ctx, ticket_id) if isinstance(ticket_id, int) else None
        if ticket is None:
            return None
        if event.kind == "photo" and event.photo_file_ids:
            await tickets.add_attachment(ctx.session, ticket, telegram_file_id=event.photo_file_ids[-1],
                                         customer_id=ctx.customer.id)
        if event.text.strip():
            await tickets.add_info(ctx.session, ticket, event.text, customer_id=ctx.customer.id,
                                   settings=ctx.settings)
        ctx.work.publish(ticket_changed(ticket, info=True))
        return [Say(ctx.t("Added to {number}. Send more, or press Done.", number=ticket.number),
                    choices=self._done(ctx))]

