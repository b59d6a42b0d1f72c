"""Telling people things: staff notices (console and Telegram) and customer notices, in each person's language.

`notify_staff` is the one way a staff member is told something outside a reminder: a row in the console's
notification list, a live event for their open consoles, and a Telegram message when they linked their account.
`tell_customer` is the one way a staff or system action speaks to a customer. The words come from
`work.texts` (`dialogs.notices`), so this module never holds a sentence itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from storage import clock
from storage.events import message_new, notification_new
from storage.models import PRIORITY_AGENT, PRIORITY_REMINDER, Conversation, Customer, Message, Staff, StaffNotification
from storage.outbox import enqueue_many, outbox_row, queue_to_customer
from storage.unit_of_work import Rendered, Work
from storage.vocabulary import CHAT_ROLES

TEAM_ROLES: tuple[str, ...] = CHAT_ROLES


@dataclass(frozen=True)
class StaffNotice:
    """One notice for one staff member, already rendered in their language."""

    person: Staff
    rendered: Rendered
    link: str | None = None
    dedupe_key: str | None = None  # a reminder's key, so a re-run of its tick never sends it twice


async def notify_staff(work: Work, recipients: Iterable[int], kind: str, *, link: str | None = None,
                       **params: Any) -> list[StaffNotification]:
    """Tell each active recipient, rendered in their own language; returns the notification rows."""
    ids = sorted(set(recipients))
    if not ids:
        return []
    people = (await work.session.scalars(
        select(Staff).where(Staff.id.in_(ids), Staff.is_active.is_(True)).order_by(Staff.id))).all()
    return await deliver_staff_notices(work, [
        StaffNotice(person, work.texts.staff_notice(kind, person.language, params), link) for person in people])


async def deliver_staff_notices(work: Work, notices: Sequence[StaffNotice]) -> list[StaffNotification]:
    """Write the console notifications and queue the Telegram copies (for linked accounts) in bulk, and publish
    `notification.new` after commit. Reminders for staff come through here too, thousands at a time."""
    now = clock.now()
    notes = [StaffNotification(staff_id=notice.person.id, text=notice.rendered.text, link=notice.link,
                               created_at=now) for notice in notices]
    work.session.add_all(notes)
    await enqueue_many(work.session, [
        outbox_row(notice.person.telegram_chat_id, notice.rendered.payload, PRIORITY_REMINDER,
                   dedupe_key=notice.dedupe_key, staff_id=notice.person.id)
        for notice in notices if notice.person.telegram_chat_id])
    await work.session.flush()  # the notifications get their ids for the events
    work.publish(*(notification_new(note) for note in notes))
    return notes


async def notify_team(work: Work, kind: str, *, link: str | None = None, roles: tuple[str, ...] = TEAM_ROLES,
                      **params: Any) -> list[StaffNotification]:
    """Tell every active staff member with one of `roles` (by default the chat team: agents and admins)."""
    ids = (await work.session.scalars(
        select(Staff.id).where(Staff.is_active.is_(True), Staff.role.in_(roles)))).all()
    return await notify_staff(work, ids, kind, link=link, **params)


async def tell_customer(work: Work, conversation: Conversation, kind: str, *, priority: int = PRIORITY_AGENT,
                        message_kind: str | None = None, **params: Any) -> Message:
    """Send the conversation's customer a notice in their language, recorded in the history as a system message."""
    customer = await work.session.get(Customer, conversation.customer_id)
    if customer is None:
        raise LookupError(f"customer {conversation.customer_id} is gone")
    rendered = work.texts.customer_notice(kind, customer.language, params)
    message = await queue_to_customer(work.session, conversation, customer, rendered.payload, text=rendered.text,
                                      sender="system", priority=priority, kind=message_kind or rendered.kind)
    work.publish(message_new(message))
    return message
