"""My viewings: list, reschedule and cancel (the agent is told); the agent's outcome buttons after a viewing
(only the viewing's agent, from their linked chat); whether the customer is still interested after it.

The buttons are listed in dialogs.flows.viewing_tokens, next to those of the booking flow.
"""

from __future__ import annotations

from dialogs.cards import district_names, title, when
from dialogs.flow import DialogContext, Flow
from dialogs.flows.booking import day_question, tell_agent
from dialogs.flows.viewing_tokens import (
    AGENT_OUTCOMES,
    VIEWINGS,
    AgentOutcome,
    Interest,
    RescheduleDay,
    StillInterested,
    ViewingAction,
    ViewingButton,
    viewings_button,
)
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.replies import ButtonAnswer, Choice, Reply, Say
from dialogs.tokens import decode
from storage.models import Listing, Staff, Viewing
from storage.services import viewings

NAME = VIEWINGS
OUTCOME_LABELS = {
    "done": N_("Done"), "no_show": N_("No-show"), "interested": N_("Interested"), "offer": N_("Made an offer"),
    "not_interested": N_("Not interested"), "signed": N_("Signed a contract"),
}
if set(OUTCOME_LABELS) != set(AGENT_OUTCOMES):  # every outcome an agent's button can carry needs its words
    raise RuntimeError("OUTCOME_LABELS and viewing_tokens.AGENT_OUTCOMES name different outcomes")


def interest_reply(lang: str, viewing_id: int) -> Say:
    """Sent after the viewing, next to the rating survey (reminder kind 'viewing_interest'): still interested?"""
    return Say(t(lang, "Are you interested in this home after the viewing?"),
               choices=[[viewings_button(t(lang, "Yes, I am interested"), StillInterested(viewing_id, Interest.YES)),
                         viewings_button(t(lang, "No"), StillInterested(viewing_id, Interest.NO))]])


class ViewingsFlow(Flow):
    name = NAME
    menu_label = N_("My viewings")
    commands = ("viewings",)
    intent_words = ("my viewings", "viewing", "appointment", "reschedule", "看房", "预约", "我的看房")
    works_while_human = True  # their own viewings; rescheduling picks times in the booking flow (buttons only)

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return await self._list(ctx, edit=event.kind == "choice")

    async def _list(self, ctx: DialogContext, edit: bool = False, lead: str = "") -> list[Reply]:
        ctx.clear()
        upcoming = await viewings.upcoming(ctx.session, ctx.customer.id, now=ctx.now)
        if not upcoming:
            text = (lead + "\n" if lead else "") + ctx.t("You have no upcoming viewings.")
            return [Say(text, choices=[[Choice(ctx.t("Find a home"), "need:start")]], edit=edit)]
        lines = [lead] if lead else []
        lines.append(ctx.t("Your upcoming viewings:"))
        rows = []
        names_zh = await district_names(ctx.session)
        for n, viewing in enumerate(upcoming, start=1):
            listing = await ctx.session.get(Listing, viewing.listing_id)
            agent = await ctx.session.get(Staff, viewing.agent_id)
            home = title(ctx.lang, listing, names_zh) if listing else "?"
            lines.append(ctx.t("{n}. {when} — {home} ({ref}), agent {agent}", n=n,
                               when=when(ctx.lang, viewing.starts_at, ctx.settings.tz), home=home,
                               ref=listing.ref_code if listing else "", agent=agent.name if agent else ""))
            reschedule = ViewingButton(ViewingAction.RESCHEDULE, viewing.id)
            rows.append([self.button(ctx.t("Reschedule #{n}", n=n), reschedule),
                         self.button(ctx.t("Cancel #{n}", n=n), ViewingButton(ViewingAction.ASK_CANCEL, viewing.id))])
        return [Say("\n".join(lines), choices=rows, edit=edit)]

    async def _own(self, ctx: DialogContext, viewing_id: int) -> Viewing | None:
        viewing = await ctx.session.get(Viewing, viewing_id)
        if viewing is None or viewing.customer_id != ctx.customer.id:
            return None
        return viewing

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, ViewingButton, AgentOutcome, StillInterested):
            case ViewingButton(ViewingAction.RESCHEDULE, viewing_id):
                return await self._reschedule(ctx, viewing_id)
            case ViewingButton(ViewingAction.ASK_CANCEL, viewing_id):
                return await self._ask_cancel(ctx, viewing_id)
            case ViewingButton(ViewingAction.CANCEL, viewing_id):
                return await self._cancel(ctx, viewing_id)
            case AgentOutcome(viewing_id, outcome):
                return await self._outcome(ctx, viewing_id, outcome)
            case StillInterested(viewing_id, answer):
                return await self._interest(ctx, viewing_id, answer)
        return None

    async def _changeable(self, ctx: DialogContext, viewing_id: int) -> tuple[Viewing | None, list[Reply] | None]:
        """(viewing, None) when this customer may still change it; else (None, what to answer)."""
        viewing = await self._own(ctx, viewing_id)
        if viewing is None:
            return None, None
        if viewing.status != "booked" or viewing.starts_at <= ctx.now:
            return None, await self._list(ctx, edit=True, lead=ctx.t("This viewing can no longer be changed."))
        return viewing, None

    async def _reschedule(self, ctx: DialogContext, viewing_id: int) -> list[Reply] | None:
        viewing, answer = await self._changeable(ctx, viewing_id)
        if viewing is None:
            return answer
        days = await viewings.free_days(ctx.session, viewing.agent_id, now=ctx.now, settings=ctx.settings)
        text = ctx.t("Your viewing is on {when}. Which day would suit you better?",
                     when=when(ctx.lang, viewing.starts_at, ctx.settings.tz))
        return [day_question(ctx, days, lambda day: RescheduleDay(viewing.id, day), text, edit=True)]

    async def _ask_cancel(self, ctx: DialogContext, viewing_id: int) -> list[Reply] | None:
        viewing, answer = await self._changeable(ctx, viewing_id)
        if viewing is None:
            return answer
        return [Say(ctx.t("Cancel the viewing on {when}?", when=when(ctx.lang, viewing.starts_at, ctx.settings.tz)),
                    choices=[[self.button(ctx.t("Yes, cancel it"), ViewingButton(ViewingAction.CANCEL, viewing.id)),
                              Choice(ctx.t("No, keep it"), f"{NAME}:start")]], edit=True)]

    async def _cancel(self, ctx: DialogContext, viewing_id: int) -> list[Reply] | None:
        viewing, answer = await self._changeable(ctx, viewing_id)
        if viewing is None:
            return answer
        try:
            await viewings.cancel(ctx.session, viewing.id, by="customer", now=ctx.now)
        except viewings.ViewingError:
            return await self._list(ctx, edit=True, lead=ctx.t("This viewing can no longer be changed."))
        await tell_agent(ctx, viewing, "cancelled")
        return await self._list(ctx, edit=True, lead=ctx.t("Your viewing is cancelled. The agent has been told."))

    async def _interest(self, ctx: DialogContext, viewing_id: int, answer: Interest) -> list[Reply] | None:
        viewing = await self._own(ctx, viewing_id)
        if viewing is None:
            return None
        viewing.customer_interested = answer is Interest.YES
        text = ctx.t("Thank you! Your agent will get in touch.") if answer is Interest.YES else \
            ctx.t("Thank you for telling us. I will keep looking for you.")
        return [Say(text, edit=True)]

    async def _outcome(self, ctx: DialogContext, viewing_id: int, outcome: str) -> list[Reply] | None:
        """The agent's button: only the viewing's own agent, pressing from the chat they linked."""
        viewing = await ctx.session.get(Viewing, viewing_id)
        if viewing is None:
            return None
        agent = await ctx.session.get(Staff, viewing.agent_id)
        if agent is None or agent.telegram_chat_id is None or agent.telegram_chat_id != ctx.customer.chat_id:
            return None
        try:
            await viewings.record_outcome(ctx.session, viewing.id, outcome, now=ctx.now)
        except viewings.ViewingError:
            return [ButtonAnswer(ctx.t("You can record the outcome after the viewing."), alert=True)]
        return [ButtonAnswer(ctx.t("Recorded: {outcome}", outcome=ctx.t(OUTCOME_LABELS[outcome])))]

