"""My requests: the customer's tickets, adding information or photos, accepting a quote, confirming or reopening
a resolution. The buttons also work while a person owns the conversation (a complaint is handled by people).
"""

from __future__ import annotations

from sqlalchemy import select

from dialogs.flow import DialogContext, Flow
from dialogs.flows.survey import survey_reply
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.reminders import CATEGORY_NAMES, STATUS_NAMES
from dialogs.replies import Choice, Reply, Say
from storage.models import Survey, Ticket
from storage.services import reminders, tickets
from storage.services.tickets import TicketError

NAME = "tickets"


class TicketsFlow(Flow):
    name = NAME
    menu_label = N_("My requests")
    commands = ("tickets", "requests")
    intent_words = ("my requests", "my tickets", "ticket status", "我的工单", "我的报修", "工单", "进度")
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        if ctx.conversation.mode == "bot":
            ctx.clear()
        rows = await tickets.customer_tickets(ctx.session, ctx.customer.id)
        if not rows:
            return [Say(ctx.t("You have no requests yet."),
                        choices=[[Choice(ctx.t("Report a repair"), "repair:start")],
                                 [Choice(ctx.t("Main menu"), "menu:main")]])]
        buttons = [[self.choice(f"{t.number} · {ctx.t(STATUS_NAMES.get(t.status, t.status))}", f"v:{t.id}")]
                   for t in rows]
        return [Say(ctx.t("Your requests:"), choices=[*buttons, [Choice(ctx.t("Main menu"), "menu:main")]])]

    async def _mine(self, ctx: DialogContext, value: str) -> Ticket | None:
        if not value.isdigit():
            return None
        ticket = await ctx.session.get(Ticket, int(value))
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
        if ticket.status == "resolved":
            rows.append([self.choice(ctx.t("Yes, it is fixed"), f"ok:{ticket.id}"),
                         self.choice(ctx.t("No, reopen it"), f"no:{ticket.id}")])
        if ticket.quote_amount is not None and ticket.quote_accepted_at is None and ticket.status == "waiting_customer":
            rows.append([self.choice(ctx.t("Accept the quote"), f"qa:{ticket.id}"),
                         self.choice(ctx.t("Decline"), f"qd:{ticket.id}")])
        if ticket.status not in ("closed", "cancelled"):
            rows.append([self.choice(ctx.t("Add information or photos"), f"add:{ticket.id}")])
        rows.append([self.choice(ctx.t("Back to my requests"), "list")])
        return Say("\n".join(lines), choices=rows, edit=True)

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        action, _, value = token.partition(":")
        if action == "list":
            return await self.start(ctx, event)
        if action == "done":
            if ctx.conversation.flow == NAME:
                ctx.clear()
            return [Say(ctx.t("Thank you, it is added to your request."))]
        ticket = await self._mine(ctx, value)
        if ticket is None:
            return None
        try:
            if action == "v":
                return [self._details(ctx, ticket)]
            if action == "add":
                if ticket.status in ("closed", "cancelled") or ctx.conversation.mode != "bot":
                    return [self._details(ctx, ticket)]
                ctx.goto(NAME, "add", ticket_id=ticket.id)
                return [Say(ctx.t("Write what you would like to add, or send photos. Press Done when finished."),
                            choices=[[self.choice(ctx.t("Done"), "done")]])]
            if action == "qa":
                await tickets.accept_quote(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
                ctx.events.append(tickets.changed_event(ticket))
                return [Say(ctx.t("Thank you, you accepted the quote for {number}. We will start the work.",
                                  number=ticket.number), edit=True)]
            if action == "qd":
                await tickets.decline_quote(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
                ctx.events.append(tickets.changed_event(ticket))
                return [Say(ctx.t("You declined the quote; request {number} is cancelled.", number=ticket.number),
                            edit=True)]
            if action == "ok":
                return await self._confirm(ctx, ticket)
            if action == "no":
                await tickets.reopen(ctx.session, ticket, ctx.customer.id, "rejected by the customer",
                                     settings=ctx.settings)
                ctx.events.append(tickets.changed_event(ticket))
                if ctx.conversation.mode == "bot":
                    ctx.goto(NAME, "add", ticket_id=ticket.id)
                return [Say(ctx.t("Request {number} is reopened. What is still wrong? Write it here or send photos, "
                                  "then press Done.", number=ticket.number),
                            choices=[[self.choice(ctx.t("Done"), "done")]], edit=True)]
        except TicketError:
            return [Say(ctx.t("This request has changed meanwhile. Here is where it stands."), edit=False),
                    self._details(ctx, ticket)]
        return None

    async def _confirm(self, ctx: DialogContext, ticket: Ticket) -> list[Reply]:
        await tickets.confirm_resolution(ctx.session, ticket, ctx.customer.id, settings=ctx.settings)
        ctx.events.append(tickets.changed_event(ticket))
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
        ticket = await self._mine(ctx, str(ctx.slots.get("ticket_id", "")))
        if ticket is None:
            return None
        if event.kind == "photo" and event.photo_file_ids:
            await tickets.add_attachment(ctx.session, ticket, telegram_file_id=event.photo_file_ids[-1],
                                         customer_id=ctx.customer.id)
        if event.text.strip():
            await tickets.add_info(ctx.session, ticket, event.text, customer_id=ctx.customer.id,
                                   settings=ctx.settings)
        ctx.events.append(tickets.changed_event(ticket, info=True))
        return [Say(ctx.t("Added to {number}. Send more, or press Done.", number=ticket.number),
                    choices=[[self.choice(ctx.t("Done"), "done")]])]

