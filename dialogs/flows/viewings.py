"""My viewings: list, reschedule and cancel (the agent is told); the agent's outcome buttons after a viewing.

Tokens: vw:start list · vw:r:<id> reschedule (pick a day) · vw:c:<id> ask to confirm cancelling ·
vw:cy:<id> cancel · vw:o:<id>:<outcome> the agent's outcome (only the viewing's agent, from their linked chat)
· vw:i:<id>:<y|n> the customer says whether they are still interested after the viewing.
"""

from __future__ import annotations

from dialogs.cards import title, when
from dialogs.flow import DialogContext, Flow
from dialogs.flows.booking import day_question, dispatch, tell_agent
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.replies import ButtonAnswer, Choice, Reply, Say
from storage.models import Listing, Staff, Viewing
from storage.services import viewings

NAME = "vw"
OUTCOME_LABELS = {
    "done": N_("Done"), "no_show": N_("No-show"), "interested": N_("Interested"), "offer": N_("Made an offer"),
    "not_interested": N_("Not interested"),
}


def interest_reply(lang: str, viewing_id: int) -> Say:
    """Sent after the viewing, next to the rating survey (reminder kind 'viewing_interest'): still interested?"""
    return Say(t(lang, "Are you interested in this home after the viewing?"),
               choices=[[Choice(t(lang, "Yes, I am interested"), f"{NAME}:i:{viewing_id}:y"),
                         Choice(t(lang, "No"), f"{NAME}:i:{viewing_id}:n")]])


class ViewingsFlow(Flow):
    name = NAME
    menu_label = N_("My viewings")
    commands = ("viewings",)
    intent_words = ("my viewings", "viewing", "appointment", "reschedule", "看房", "预约", "我的看房")

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
        for n, viewing in enumerate(upcoming, start=1):
            listing = await ctx.session.get(Listing, viewing.listing_id)
            agent = await ctx.session.get(Staff, viewing.agent_id)
            home = title(ctx.lang, listing) if listing else "?"
            lines.append(ctx.t("{n}. {when} — {home} ({ref}), agent {agent}", n=n,
                               when=when(ctx.lang, viewing.starts_at, ctx.settings.tz), home=home,
                               ref=listing.ref_code if listing else "", agent=agent.name if agent else ""))
            rows.append([Choice(ctx.t("Reschedule #{n}", n=n), f"{NAME}:r:{viewing.id}"),
                         Choice(ctx.t("Cancel #{n}", n=n), f"{NAME}:c:{viewing.id}")])
        return [Say("\n".join(lines), choices=rows, edit=edit)]

    async def _own(self, ctx: DialogContext, viewing_id: int) -> Viewing | None:
        viewing = await ctx.session.get(Viewing, viewing_id)
        if viewing is None or viewing.customer_id != ctx.customer.id:
            return None
        return viewing

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        return await dispatch(ctx, token, {
            "r": (self._reschedule, (int,)),
            "c": (self._ask_cancel, (int,)),
            "cy": (self._cancel, (int,)),
            "o": (self._outcome, (int, str)),
            "i": (self._interest, (int, str)),
        })

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
        return [day_question(ctx, days, f"book:rd:{viewing.id}", text, edit=True)]

    async def _ask_cancel(self, ctx: DialogContext, viewing_id: int) -> list[Reply] | None:
        viewing, answer = await self._changeable(ctx, viewing_id)
        if viewing is None:
            return answer
        return [Say(ctx.t("Cancel the viewing on {when}?", when=when(ctx.lang, viewing.starts_at, ctx.settings.tz)),
                    choices=[[Choice(ctx.t("Yes, cancel it"), f"{NAME}:cy:{viewing.id}"),
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

    async def _interest(self, ctx: DialogContext, viewing_id: int, answer: str) -> list[Reply] | None:
        viewing = await self._own(ctx, viewing_id)
        if viewing is None or answer not in ("y", "n"):
            return None
        viewing.customer_interested = answer == "y"
        text = ctx.t("Thank you! Your agent will get in touch.") if answer == "y" else \
            ctx.t("Thank you for telling us. I will keep looking for you.")
        return [Say(text, edit=True)]

    async def _outcome(self, ctx: DialogContext, viewing_id: int, outcome: str) -> list[Reply] | None:
        """The agent's button: only the viewing's own agent, pressing from the chat they linked."""
        viewing = await ctx.session.get(Viewing, viewing_id)
        if viewing is None or outcome not in OUTCOME_LABELS:
            return None
        agent = await ctx.session.get(Staff, viewing.agent_id)
        if agent is None or agent.telegram_chat_id is None or agent.telegram_chat_id != ctx.customer.chat_id:
            return None
        try:
            await viewings.record_outcome(ctx.session, viewing.id, outcome, now=ctx.now)
        except viewings.ViewingError:
            return [ButtonAnswer(ctx.t("You can record the outcome after the viewing."), alert=True)]
        return [ButtonAnswer(ctx.t("Recorded: {outcome}", outcome=ctx.t(OUTCOME_LABELS[outcome])))]

