"""Work staff enter from the customer card — a consultation (phone, walk-in, WeChat, e-mail) with its next step, a
repair or complaint ticket, a viewing booked, moved or cancelled, a message in the customer's channel — and the
transfer of a chat to a team.

Each form is read and checked here (a clear message in the staff member's language), then one service call in
`act(request)` does the work with the bot's rules: storage.services.consultations, .on_behalf, .handoff. The card
shows what these forms need through `card_context` (customers.customer_page adds it to its page).
"""

from __future__ import annotations

import html
from datetime import date, datetime, time
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.replies import Say
from staff_console.context import Form, act, db, flash, path_id, requires, settings
from staff_console.errors import error_text
from staff_console.i18n import Translator, translator
from storage.models import Customer, Viewing
from storage.repositories import consultations as consultation_repo
from storage.repositories import listings as listings_repo
from storage.services import consultations, on_behalf, viewings
from storage.services.consultations import ConsultationError
from storage.services.handoff import HandoffError, transfer_to_team
from storage.services.on_behalf import OnBehalfError
from storage.services.tickets import TicketError
from storage.services.viewings import ViewingError
from storage.vocabulary import (
    COMPLAINT_CATEGORIES,
    CONSULTATION_CHANNELS,
    CONSULTATION_TOPICS,
    HANDOFF_TEAMS,
    PRIORITIES,
    REPAIR_CATEGORIES,
)

MAX_TEXT = 4000
FREE_TIMES_SHOWN = 8


async def card_context(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    """What the customer card's work forms need: past consultations, the homes a repair can be for, the choices."""
    return {
        "consultations": await consultation_repo.for_customer(session, customer.id),
        "repair_homes": await on_behalf.homes_for_repair(session, customer),
        "reachable": on_behalf.reachable(customer),
        "consultation_channels": CONSULTATION_CHANNELS, "consultation_topics": CONSULTATION_TOPICS,
        "repair_categories": REPAIR_CATEGORIES, "complaint_categories": COMPLAINT_CATEGORIES,
        "priorities": PRIORITIES,
    }


def _field(form: Form, name: str, limit: int = MAX_TEXT) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _local_time(tr: Translator, day: str, at: str) -> datetime | None:
    """A date and a time the staff member typed, in their time zone; None when either is not one."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tr.tz).astimezone(tr.tz)
    except ValueError:
        return None


def _back(customer_id: int, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/customers/{customer_id}" + (f"#{anchor}" if anchor else ""))


async def _refuse(request: web.Request, customer_id: int, text: str, anchor: str = "") -> web.StreamResponse:
    await flash(request, text, "error")
    raise _back(customer_id, anchor)


async def _customer_exists(request: web.Request, customer_id: int) -> None:
    async with db(request)() as session:
        if await session.get(Customer, customer_id) is None:
            raise web.HTTPNotFound(text=translator(request).gettext("No such customer."))


# ---- consultations -------------------------------------------------------------------------------------------------

@requires("admin", "agent")
async def log_consultation(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    await _customer_exists(request, customer_id)
    form = await request.post()
    _ = translator(request)
    channel, topic = _field(form, "channel", 16), _field(form, "topic", 16)
    summary, next_step = _field(form, "summary"), _field(form, "next_step", 1000)
    due_day, due_time = _field(form, "due_day", 10), _field(form, "due_time", 5)
    if channel not in CONSULTATION_CHANNELS:
        return await _refuse(request, customer_id, _("Choose how the customer contacted us."), "consultations")
    if topic not in CONSULTATION_TOPICS:
        return await _refuse(request, customer_id, _("Choose what the consultation was about."), "consultations")
    if not summary:
        return await _refuse(request, customer_id, _("Write a short summary of the consultation."), "consultations")
    due = None
    if due_day or due_time:
        due = _local_time(_, due_day, due_time or "09:00")
        if due is None:
            return await _refuse(request, customer_id, _("The due date is not a date and time."), "consultations")
    if next_step and due is None:
        return await _refuse(request, customer_id, _("Give the next step a due date."), "consultations")
    if due is not None and not next_step:
        return await _refuse(request, customer_id, _("Write the next step for this due date."), "consultations")
    try:
        async with act(request) as work:
            await consultations.log(work, customer_id, channel=channel, topic=topic, summary=summary,
                                    next_step=next_step or None, next_step_due_at=due)
    except ConsultationError as exc:
        return await _refuse(request, customer_id, _("Not saved: %(reason)s.", reason=error_text(_, exc)),
                             "consultations")
    await flash(request, _("Consultation saved.") + (" " + _("You will be reminded of the next step when it is due.")
                                                      if due else ""))
    raise _back(customer_id, "consultations")


@requires("admin", "agent")
async def finish_next_step(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    consultation_id = path_id(request, "consultation_id")
    _ = translator(request)
    try:
        async with act(request) as work:
            row = await consultations.finish_next_step(work, consultation_id)
            if row.customer_id != customer_id:
                raise ConsultationError("no such consultation")
    except ConsultationError as exc:
        return await _refuse(request, customer_id, error_text(_, exc), "consultations")
    await flash(request, _("Next step done."))
    raise _back(customer_id, "consultations")


# ---- tickets -------------------------------------------------------------------------------------------------------

@requires("admin", "agent")
async def file_ticket(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    await _customer_exists(request, customer_id)
    form = await request.post()
    _ = translator(request)
    kind, category = _field(form, "kind", 16), _field(form, "category", 32)
    description, access = _field(form, "description"), _field(form, "access_window", 256)
    priority = _field(form, "priority", 16) or "normal"
    unit_text = _field(form, "unit_id", 20)
    unit_id = int(unit_text) if unit_text.isdigit() and len(unit_text) < 19 else None
    if kind not in ("repair", "complaint"):
        return await _refuse(request, customer_id, _("Choose a repair or a complaint."), "file-ticket")
    if category not in (REPAIR_CATEGORIES if kind == "repair" else COMPLAINT_CATEGORIES):
        return await _refuse(request, customer_id, _("Choose a category of this kind of ticket."), "file-ticket")
    if priority not in PRIORITIES:
        return await _refuse(request, customer_id, _("Choose a priority."), "file-ticket")
    if unit_text and unit_id is None:
        return await _refuse(request, customer_id, _("Choose one of the customer's homes."), "file-ticket")
    if kind == "repair" and unit_id is None:
        return await _refuse(request, customer_id, _("A repair needs one of the customer's homes."), "file-ticket")
    if not description:
        return await _refuse(request, customer_id, _("Describe the problem."), "file-ticket")
    try:
        async with act(request) as work:
            ticket = await on_behalf.file_ticket(work, customer_id, kind=kind, category=category,
                                                 description=description, unit_id=unit_id, priority=priority,
                                                 access_window=access or None)
    except (OnBehalfError, TicketError) as exc:
        return await _refuse(request, customer_id, _("Not filed: %(reason)s.", reason=error_text(_, exc)),
                             "file-ticket")
    await flash(request, _("Ticket %(number)s filed; the customer has been sent its number.", number=ticket.number))
    raise web.HTTPSeeOther(f"/tickets/{ticket.id}")


# ---- viewings ------------------------------------------------------------------------------------------------------

async def _free_times(request: web.Request, agent_id: int, day: date, ignore: int | None = None) -> str:
    """The agent's next free times that day, for the refusal of a time that is not free."""
    _ = translator(request)
    async with db(request)() as session:
        slots = await viewings.free_slots(session, agent_id, on_day=day, ignore_viewing_id=ignore,
                                          settings=settings(request))
    if not slots:
        return _("No free time that day.")
    return _("Free times that day: %(times)s", times=", ".join(_.time(slot) for slot in slots[:FREE_TIMES_SHOWN]))


async def _viewing_refusal(request: web.Request, customer_id: int, exc: ViewingError, agent_id: int | None,
                           when: datetime, ignore: int | None = None) -> web.StreamResponse:
    _ = translator(request)
    text = _("Not booked: %(reason)s.", reason=error_text(_, exc))
    if isinstance(exc, viewings.SlotTaken) and agent_id is not None:
        text += " " + await _free_times(request, agent_id, when.astimezone(_.tz).date(), ignore)
    return await _refuse(request, customer_id, text, "viewings-entered")


@requires("admin", "agent")
async def book_viewing(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    await _customer_exists(request, customer_id)
    form = await request.post()
    _ = translator(request)
    ref = _field(form, "listing", 64)
    when = _local_time(_, _field(form, "day", 10), _field(form, "time", 5))
    if not ref:
        return await _refuse(request, customer_id, _("Give the reference code of the home."), "viewings-entered")
    if when is None:
        return await _refuse(request, customer_id, _("Choose the day and the time of the viewing."),
                             "viewings-entered")
    async with db(request)() as session:
        listing = await listings_repo.by_ref(session, ref)
        agent = (await viewings.agent_for_listing(session, listing, settings=settings(request))
                 if listing is not None else None)
    if listing is None:
        return await _refuse(request, customer_id, _("No home has the reference code %(ref)s.", ref=ref),
                             "viewings-entered")
    try:
        async with act(request) as work:
            await on_behalf.book_viewing(work, customer_id, listing.id, when)
    except (ViewingError, OnBehalfError) as exc:
        if isinstance(exc, OnBehalfError):
            return await _refuse(request, customer_id, _("Not booked: %(reason)s.", reason=error_text(_, exc)),
                                 "viewings-entered")
        return await _viewing_refusal(request, customer_id, exc, agent.id if agent else None, when)
    await flash(request, _("Viewing booked; the customer and the agent have been told."))
    raise _back(customer_id, "viewings-entered")


async def _own_viewing(request: web.Request, customer_id: int) -> Viewing:
    viewing_id = path_id(request, "viewing_id")
    async with db(request)() as session:
        viewing = await session.get(Viewing, viewing_id)
    if viewing is None or viewing.customer_id != customer_id:
        raise web.HTTPNotFound()
    return viewing


@requires("admin", "agent")
async def reschedule_viewing(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    viewing = await _own_viewing(request, customer_id)
    form = await request.post()
    _ = translator(request)
    when = _local_time(_, _field(form, "day", 10), _field(form, "time", 5))
    if when is None:
        return await _refuse(request, customer_id, _("Choose the new day and time."), "viewings-entered")
    try:
        async with act(request) as work:
            await on_behalf.reschedule_viewing(work, viewing.id, when)
    except ViewingError as exc:
        return await _viewing_refusal(request, customer_id, exc, viewing.agent_id, when, viewing.id)
    await flash(request, _("Viewing moved; the customer and the agent have been told."))
    raise _back(customer_id, "viewings-entered")


@requires("admin", "agent")
async def cancel_viewing(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    viewing = await _own_viewing(request, customer_id)
    _ = translator(request)
    try:
        async with act(request) as work:
            await on_behalf.cancel_viewing(work, viewing.id)
    except ViewingError as exc:
        return await _refuse(request, customer_id, _("Not cancelled: %(reason)s.", reason=error_text(_, exc)),
                             "viewings-entered")
    await flash(request, _("Viewing cancelled; the customer and the agent have been told."))
    raise _back(customer_id, "viewings-entered")


# ---- a message -----------------------------------------------------------------------------------------------------

@requires("admin", "agent")
async def send_message(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request, "customer_id")
    await _customer_exists(request, customer_id)
    text = _field(await request.post(), "text")
    _ = translator(request)
    if not text:
        return await _refuse(request, customer_id, _("Write something first."), "message")
    try:
        async with act(request) as work:
            # The customer's channel reads HTML: what staff typed is text, never markup.
            await on_behalf.send_message(work, customer_id, Say(text=html.escape(text, quote=False)).to_payload(),
                                         text=text)
    except OnBehalfError as exc:
        return await _refuse(request, customer_id, _("Not sent: %(reason)s.", reason=error_text(_, exc)), "message")
    await flash(request, _("Message queued for the customer."))
    raise _back(customer_id, "message")


# ---- a chat to a team ----------------------------------------------------------------------------------------------

@requires("admin", "agent", "service")
async def transfer_team(request: web.Request) -> web.StreamResponse:
    conversation_id = path_id(request, "conversation_id")
    form = await request.post()
    _ = translator(request)
    team, note = _field(form, "team", 32), _field(form, "note", 500)
    back = web.HTTPSeeOther(f"/conversations/{conversation_id}")
    if team not in HANDOFF_TEAMS:
        await flash(request, _("Choose the team that takes over."), "error")
        raise back
    try:
        async with act(request) as work:
            await transfer_to_team(work, conversation_id, team, note)
    except HandoffError as exc:
        await flash(request, error_text(_, exc), "error")
        raise back from None
    await flash(request, _("Transferred; the conversation waits for the team."))
    raise back


def setup(app: web.Application) -> None:
    base = "/customers/{customer_id:\\d+}"
    app.router.add_post(base + "/consultations", log_consultation)
    app.router.add_post(base + "/consultations/{consultation_id:\\d+}/done", finish_next_step)
    app.router.add_post(base + "/tickets", file_ticket)
    app.router.add_post(base + "/viewings", book_viewing)
    app.router.add_post(base + "/viewings/{viewing_id:\\d+}/reschedule", reschedule_viewing)
    app.router.add_post(base + "/viewings/{viewing_id:\\d+}/cancel", cancel_viewing)
    app.router.add_post(base + "/message", send_message)
    app.router.add_post("/conversations/{conversation_id:\\d+}/transfer-team", transfer_team)
