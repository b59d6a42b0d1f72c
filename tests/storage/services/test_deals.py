"""Deals and their tracks: the import (report, rerun, rejected rows), the track engine on the loan, the move-in
notice exactly once, the inspection's defects as repair tickets, the area settlement's rule (property-based)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage.db import transaction
from storage.importers import import_deals
from storage.models import (
    Customer,
    Deal,
    FollowUpTask,
    InspectionSlot,
    Milestone,
    MilestoneEvent,
    Project,
    ProjectFee,
    Reminder,
    Revisit,
    Staff,
    StaffNotification,
    Ticket,
    Unit,
)
from storage.services import milestones
from storage.services.deals import link_customer
from storage.services.milestones import Defect, MilestoneError
from storage.services.settlement import compute_building, settle
from tests import factories
from tests.workplace import SETTINGS, staff_work, work_on

HEADER = ("contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,"
          "payment_method,handover_date,staff_email,contract_area,measured_area\n")


def line(contract: str, unit: str = "1201", *, method: str = "mortgage", handover: str = "2026-03-16",
         email: str = "", phone: str = "13800138000", contract_area: str = "", measured_area: str = "",
         price: str = "3000000") -> str:
    return (f"{contract},Sunny Garden,3,{unit},Ann Li,{phone},2026-01-10,{price},CNY,{method},{handover},{email},"
            f"{contract_area},{measured_area}\n")


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_import_reports_rows_updates_on_rerun_and_creates_tracks(any_sessions, frozen_clock) -> None:
    async with transaction(any_sessions) as session:
        agent = await factories.staff(session, name="Wang", role="agent")
        email = agent.email
    text = HEADER + line("HT-1", email=email) + line("HT-2", "1202", method="full") + \
        line("HT-3", "1203", method="cash") + line("HT-4", "1204", email="nobody@example.com") + \
        line("HT-5", "1205", handover="2025-01-01")
    report = await import_deals(any_sessions, text.encode(), settings=SETTINGS)
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    assert [n for n, _ in report.errors] == [4, 5, 6]
    assert "payment_method is 'cash'" in report.errors[0][1]
    assert "nobody@example.com" in report.errors[1][1] and "before signed_on" in report.errors[2][1]
    async with any_sessions() as session:
        deal = await session.scalar(select(Deal).where(Deal.contract_no == "HT-1"))
        tracks = {m.track: m for m in await session.scalars(select(Milestone).where(Milestone.deal_id == deal.id))}
        full = await session.scalar(select(Deal).where(Deal.contract_no == "HT-2"))
        full_tracks = set(await session.scalars(select(Milestone.track).where(Milestone.deal_id == full.id)))
        unit = await session.get(Unit, deal.unit_id)
    assert deal.staff_id == agent.id and deal.price == Decimal("3000000.00") and deal.payment_method == "mortgage"
    assert set(tracks) == {"loan", "move_in", "settlement", "certificate"} and "loan" not in full_tracks
    assert [d["code"] for d in tracks["loan"].data["documents"]] == list(milestones.DOCUMENTS["mortgage"])
    # the move-in notice is due 14 days before the handover, at 10:00 Shanghai time
    assert tracks["move_in"].due_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert unit.owner_phone == "13800138000" and unit.handover_date == date(2026, 3, 16)

    rerun = await import_deals(any_sessions, (HEADER + line("HT-1", email=email, price="3100000")
                                              + line("HT-2", "1202", method="full")).encode(), settings=SETTINGS)
    assert (rerun.inserted, rerun.updated, rerun.unchanged, rerun.errors) == (0, 1, 1, [])
    assert await _count(any_sessions, Deal) == 2
    assert await _count(any_sessions, Milestone) == 7


async def _deal(sessions, **kw) -> tuple[int, int, int]:
    """A mortgage deal with a linked chat customer; (deal id, customer id, agent id)."""
    await import_deals(sessions, (HEADER + line("HT-9", **kw)).encode(), settings=SETTINGS)
    async with transaction(sessions) as session:
        agent = await factories.staff(session, name="Wang", role="agent")
        customer = await factories.customer(session, language="zh")
        customer.phone, customer.phone_verified_at = "13800138000", datetime(2026, 3, 1, tzinfo=UTC)
        assert await link_customer(session, customer) == 1
        deal = await session.scalar(select(Deal))
        deal.staff_id = agent.id
        for m in await session.scalars(select(Milestone).where(Milestone.deal_id == deal.id)):
            m.staff_id = agent.id
        return deal.id, customer.id, agent.id


async def _track(session, deal_id: int, track: str) -> Milestone:
    return await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id, Milestone.track == track))


async def test_loan_documents_rejection_and_disbursement(sessions, frozen_clock) -> None:
    deal_id, customer_id, agent_id = await _deal(sessions)
    async with transaction(sessions) as session:
        work = staff_work(session, agent_id)
        loan = await _track(session, deal_id, "loan")
        try:
            await milestones.advance(work, loan, "approved")
        except MilestoneError as exc:
            assert str(exc) == "the loan track cannot go from pending to approved"
        else:
            raise AssertionError("a step out of order was allowed")
        await milestones.request_documents(work, loan, ["id_card", "income_proof"], note="bring originals")
        assert milestones.missing_documents(loan) == ["id_card", "income_proof"]
        assert await milestones.record_document(work, loan, "id_card", telegram_file_id="F1", by_customer=True) \
            is None
        change = await milestones.record_document(work, loan, "income_proof")
        assert change is not None and loan.status == "documents_received"
        await milestones.advance(work, loan, "submitted")
        await milestones.advance(work, loan, "rejected", note="income too low")
    async with sessions() as session:
        task = await session.scalar(select(FollowUpTask))
        note = await session.scalar(select(StaffNotification))
        notices = (await session.scalars(select(Reminder).where(Reminder.kind == "deal_update")
                                         .order_by(Reminder.id))).all()
    assert task.reason == "loan_rejected" and task.assignee_id == agent_id and task.customer_id == customer_id
    assert "loan was rejected" in note.text and note.link == f"/deals/{deal_id}"
    assert [n.payload["status"] for n in notices] == ["documents_requested", "documents_received", "submitted",
                                                      "rejected"]
    assert notices[0].payload["missing"] == ["id_card", "income_proof"] and notices[0].payload["staff"] == "Wang"
    assert all(n.recipient_customer_id == customer_id and n.status == "pending" for n in notices)
    async with transaction(sessions) as session:
        work = staff_work(session, agent_id)
        loan = await _track(session, deal_id, "loan")
        await milestones.request_documents(work, loan, ["bank_statement"])
        await milestones.record_document(work, loan, "bank_statement")
        for step in ("submitted", "approved", "disbursed"):
            await milestones.advance(work, loan, step)
        assert loan.finished_at is not None and loan.due_at is None
        events = (await session.scalars(select(MilestoneEvent).where(MilestoneEvent.kind == "status"))).all()
    assert events[-1].to_status == "disbursed" and events[-1].actor_staff_id == agent_id


async def test_move_in_notice_once_slot_inspection_tickets_and_handover(sessions, frozen_clock) -> None:
    deal_id, customer_id, agent_id = await _deal(sessions, contract_area="100", measured_area="101")
    async with transaction(sessions) as session:
        project = await session.scalar(select(Project))
        session.add_all([ProjectFee(project_id=project.id, name="Property fee (3 months)", name_zh="物业费（3个月）",
                                    amount=Decimal("3.50"), per_m2=True),
                         ProjectFee(project_id=project.id, name="Maintenance fund", name_zh="维修基金",
                                    amount=Decimal("2000"))])
        slot = InspectionSlot(project_id=project.id, starts_at=datetime(2026, 3, 5, 2, tzinfo=UTC), capacity=1)
        session.add(slot)
    frozen_clock.set(datetime(2026, 3, 2, 1, 59, tzinfo=UTC))  # 09:59: one minute early
    async with transaction(sessions) as session:
        assert await milestones.send_move_in_notices(work_on(session)) == 0
    frozen_clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    for expected in (1, 0):  # exactly once
        async with transaction(sessions) as session:
            assert await milestones.send_move_in_notices(work_on(session)) == expected
    async with sessions() as session:
        notice = await session.scalar(select(Reminder).where(Reminder.kind == "deal_update"))
    assert notice.payload["status"] == "notice_sent" and notice.payload["fees_total"] == "2353.50"
    assert notice.payload["fees"][0] == {"name": "Property fee (3 months)", "name_zh": "物业费（3个月）",
                                         "amount": "353.50"}
    async with transaction(sessions) as session:
        move_in = await _track(session, deal_id, "move_in")
        slot = await session.scalar(select(InspectionSlot))
        await milestones.book_slot(work_on(session), move_in, slot.id)
        assert move_in.status == "slot_booked"
    async with transaction(sessions) as session:
        other = await factories.customer(session)
        deal = await session.get(Deal, deal_id)
        assert await milestones.open_slots(session, deal) == []  # full now
        del other
    async with transaction(sessions) as session:
        move_in = await _track(session, deal_id, "move_in")
        created = await milestones.record_inspection(
            staff_work(session, agent_id), move_in, checked=["walls", "plumbing"],
            defects=[Defect("walls_decoration", "Crack above the living-room window"),
                     Defect("plumbing", "Kitchen tap drips", ("inspection/tap.jpg",))])
        assert [t.number for t in created] == ["R-2026-000001", "R-2026-000002"]
    async with sessions() as session:
        found = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
    assert [(t.category, t.warranty_status, t.customer_id) for t in found] == [
        ("walls_decoration", "in", customer_id), ("plumbing", "in", customer_id)]
    async with transaction(sessions) as session:
        move_in = await _track(session, deal_id, "move_in")
        await milestones.record_handover(staff_work(session, agent_id), move_in, handed_over_on=date(2026, 3, 16),
                                         keys=3, meters={"water": "12.5", "electricity": "340"})
        assert move_in.status == "handed_over" and move_in.data["handover"]["keys"] == 3
    async with sessions() as session:
        revisit = await session.scalar(select(Revisit))
    assert revisit.customer_id == customer_id and revisit.reason == "after_move_in"


async def test_move_in_notice_skips_handovers_in_the_past(sessions, frozen_clock) -> None:
    await import_deals(sessions, (HEADER + line("HT-8", handover="2026-02-20")).encode(), settings=SETTINGS)
    async with transaction(sessions) as session:
        assert await milestones.send_move_in_notices(work_on(session)) == 0


async def test_settlement_of_a_building_and_staff_reminders(sessions, frozen_clock) -> None:
    text = HEADER + line("S-1", "101", contract_area="100", measured_area="102") + \
        line("S-2", "102", contract_area="100", measured_area="105") + \
        line("S-3", "103", contract_area="100", measured_area="95") + line("S-4", "104")
    await import_deals(sessions, text.encode(), settings=SETTINGS)
    async with transaction(sessions) as session:
        unit = await session.scalar(select(Unit))
        result = await compute_building(work_on(session), unit.building_id, notify=True)
    amounts = {deal.contract_no: s.amount for deal, s in result.computed}
    # 30,000 per m²: +2 % pays 2 m²; +5 % pays only 3 m²; -5 % refunds 3 m² plus 2 m² at twice the price
    assert amounts == {"S-1": Decimal("60000.00"), "S-2": Decimal("90000.00"), "S-3": Decimal("-210000.00")}
    assert [deal.contract_no for deal, _ in result.skipped] == ["S-4"]
    async with sessions() as session:
        statuses = set(await session.scalars(select(Milestone.status).where(Milestone.track == "settlement")))
    assert statuses == {"notified", "pending"}


async def test_staff_are_reminded_before_and_after_a_step_is_due(sessions, frozen_clock) -> None:
    deal_id, _, agent_id = await _deal(sessions)
    async with transaction(sessions) as session:
        loan = await _track(session, deal_id, "loan")
        await milestones.request_documents(staff_work(session, agent_id), loan, ["id_card"])
        due = loan.due_at
    frozen_clock.set(due - timedelta(hours=2))
    async with transaction(sessions) as session:
        assert await milestones.schedule_due_reminders(work_on(session)) >= 1
        assert await milestones.schedule_due_reminders(work_on(session)) == 0
    frozen_clock.set(due + timedelta(minutes=1))
    async with transaction(sessions) as session:
        await milestones.schedule_due_reminders(work_on(session))
    async with sessions() as session:
        kinds = [(r.kind, r.recipient_staff_id) for r in await session.scalars(
            select(Reminder).where(Reminder.subject_type == "milestone", Reminder.recipient_staff_id.is_not(None),
                                   Reminder.payload["track"].as_string() == "loan").order_by(Reminder.id))]
    assert kinds == [("milestone_due", agent_id), ("milestone_overdue", agent_id)]
    # the reminder tick tells the agent in their language, with a link to the deal
    async with transaction(sessions) as session:
        agent = await session.get(Staff, agent_id)
        agent.language = "zh"
    from dialogs import reminders as reminder_tick
    from tests.workplace import workplace_for

    await reminder_tick.tick(workplace_for(sessions))
    async with sessions() as session:
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == agent_id)
                                       .order_by(StaffNotification.id))).all()
    assert [n.text for n in notes][-2:] == [
        "合同 HT-9：贷款（待提交材料）将于 3月16日 周一 09:00 到期。",
        "合同 HT-9：贷款（待提交材料）已于 3月16日 周一 09:00 逾期。"]
    assert notes[-1].link == f"/deals/{deal_id}"


areas = st.decimals(min_value=Decimal("20.00"), max_value=Decimal("400.00"), places=2)
prices = st.decimals(min_value=Decimal("1000.00"), max_value=Decimal("200000.00"), places=2)


@settings(max_examples=300, deadline=None)
@given(contract=areas, measured=areas, price=prices)
def test_area_settlement_rule(contract: Decimal, measured: Decimal, price: Decimal) -> None:
    result = settle(contract, measured, price)
    difference = measured - contract
    band = contract * Decimal("0.03")
    cent = Decimal("0.01")
    if abs(difference) <= band:  # within 3 %: the difference at the contract price, either way
        expected = difference * price
    elif difference > 0:  # bigger: the owner pays only the first 3 %
        expected = band * price
        assert result.amount <= (band * price).quantize(cent) + cent
    else:  # smaller: the first 3 % refunded at the price, the rest at twice the price
        expected = -(band * price) - 2 * (-difference - band) * price
    assert abs(result.amount - expected) <= cent
    assert (result.amount > 0) == (difference > 0 and result.amount != 0) or result.amount == 0
    assert result.direction == ("pay" if result.amount > 0 else "refund" if result.amount < 0 else "none")
    # never less favourable to the owner than settling the whole difference at the contract price
    assert result.amount <= (difference * price).quantize(cent) + cent


def test_area_settlement_examples() -> None:
    assert settle(Decimal(100), Decimal(100), Decimal(30000)).amount == 0
    assert settle(Decimal(100), Decimal(103), Decimal(30000)).amount == Decimal("90000.00")  # 3 % inclusive
    assert settle(Decimal(100), Decimal(97), Decimal(30000)).amount == Decimal("-90000.00")
    assert settle(Decimal(100), Decimal(96), Decimal(30000)).amount == Decimal("-150000.00")
    assert settle(Decimal(100), Decimal(110), Decimal(30000)).amount == Decimal("90000.00")


async def test_customer_and_staff_models_untouched(sessions) -> None:
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
        assert await session.scalar(select(func.count()).select_from(Staff)) == 0


async def test_a_late_evening_change_reaches_the_owner_in_the_morning(sessions, frozen_clock) -> None:
    from dialogs import reminders as reminder_tick
    from storage.models import OutboxMessage
    from tests.workplace import workplace_for

    deal_id, customer_id, agent_id = await _deal(sessions)
    frozen_clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai: quiet hours
    async with transaction(sessions) as session:
        certificate = await _track(session, deal_id, "certificate")
        await milestones.advance(staff_work(session, agent_id), certificate, "documents_collected")
    assert await reminder_tick.tick(workplace_for(sessions)) == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    frozen_clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))  # 08:00
    assert await reminder_tick.tick(workplace_for(sessions)) == 1
    async with sessions() as session:
        sent = await session.scalar(select(OutboxMessage))
    assert sent.customer_id == customer_id and "房产证：材料已收集" in sent.payload["text"]


async def test_a_notice_reaches_owners_at_a_deal_step(any_sessions, frozen_clock) -> None:
    """The broadcasts' audience "owners with a given milestone status": a buyer whose deal stands at the step is
    counted (before the handover makes them the home's owner), nobody else."""
    from storage.services import audiences

    deal_id, customer_id, agent_id = await _deal(any_sessions)
    async with transaction(any_sessions) as session:
        loan = await _track(session, deal_id, "loan")
        await milestones.request_documents(staff_work(session, agent_id), loan, ["id_card"])
    async with any_sessions() as session:
        waiting = await audiences.parse(session, {"milestone": ["loan:documents_requested"]})
        assert await audiences.count(session, waiting) == audiences.Count(owners=1, reachable=1)
        later = await audiences.parse(session, {"milestone": ["loan:approved", "certificate:filed"]})
        assert (await audiences.count(session, later)).owners == 0
        with pytest.raises(audiences.AudienceError):
            await audiences.parse(session, {"milestone": ["loan:nope"]})
