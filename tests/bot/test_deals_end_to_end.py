"""Deals end to end: the real aiogram channel against the offline Bot API server (tests/botapi).

The clock is frozen at Monday 2026-03-02 09:00 Asia/Shanghai; the reminder tick (which delivers the milestone
notices) and the milestone tick (move-in notices) are run by hand, as `homedesk run` does every few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from dialogs import reminders as reminder_tick
from storage.db import transaction
from storage.importers import import_deals
from storage.models import Deal, DealAttachment, InspectionSlot, Milestone, Project, ProjectFee, Ticket
from storage.services import milestones
from storage.services.milestones import Defect
from tests import factories
from tests.workplace import SETTINGS, staff_work, workplace_for

HEADER = ("contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,"
          "payment_method,handover_date,staff_email,contract_area,measured_area\n")


async def _deal(sessions, method: str = "mortgage", handover: str = "2026-03-16") -> tuple[int, int]:
    """A deal under the test customer's phone (13800138000), imported as `homedesk import-deals` does; returns the
    deal's and its responsible agent's ids."""
    async with transaction(sessions) as session:
        agent = await factories.staff(session, name="Wang Li", role="agent")
        email = agent.email
    text = HEADER + f"HT-2026-001,Sunny Garden,3,1201,Bob Zhang,13800138000,2026-01-10,3000000,CNY,{method}," \
                    f"{handover},{email},100,101\n"
    report = await import_deals(sessions, text.encode(), settings=SETTINGS)
    assert (report.inserted, report.errors) == (1, [])
    async with sessions() as session:
        return await session.scalar(select(Deal.id)), agent.id


async def _track(session, deal_id: int, track: str) -> Milestone:
    return await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id, Milestone.track == track))


async def test_mortgage_documents_photo_approval_disbursement_in_chinese(api, make_channel, sessions, frozen_clock,
                                                                         bus) -> None:
    deal_id, agent_id = await _deal(sessions)
    workplace = workplace_for(sessions, bus)
    async with make_channel(api):
        bob = api.customer(first_name="Bob", language_code="zh-hans")
        bob.send_text("我的贷款办得怎么样了")
        await bob.wait_for("合同上的手机号")
        bob.tap("分享我的手机号")
        status = await bob.wait_for("合同 HT-2026-001")
        assert "贷款：未开始" in status["text"] and "负责人：Wang Li" in status["text"]

        async with transaction(sessions) as session:
            loan = await _track(session, deal_id, "loan")
            await milestones.request_documents(staff_work(session, agent_id), loan, ["id_card", "income_proof"])
        await reminder_tick.tick(workplace)
        asked = await bob.wait_for("请提供以下材料", since_last_action=False)
        assert "身份证、收入证明" in asked["text"]
        assert [b["text"] for row in asked["reply_markup"]["inline_keyboard"] for b in row] == [
            "发送：身份证", "发送：收入证明"]
        bob.press("发送：身份证")
        await bob.wait_for("请发送您的身份证照片")
        bob.send_photo()
        received = await bob.wait_for("已收到您的身份证")
        assert "还缺：收入证明" in received["text"]

        # the customer's question, answered with what is still missing from them
        bob.send_text("我的贷款到哪一步了")
        status = await bob.wait_for("您还需提供：收入证明")
        assert "贷款：待提交材料" in status["text"]

        async with transaction(sessions) as session:
            work = staff_work(session, agent_id)
            loan = await _track(session, deal_id, "loan")
            await milestones.record_document(work, loan, "income_proof")  # brought to the office
            await milestones.advance(work, loan, "submitted")
        await reminder_tick.tick(workplace)
        await bob.wait_for("的贷款：已提交银行", since_last_action=False)
        async with transaction(sessions) as session:
            loan = await _track(session, deal_id, "loan")
            await milestones.advance(staff_work(session, agent_id), loan, "approved", note="工商银行")
        await reminder_tick.tick(workplace)
        approved = await bob.wait_for("的贷款：已审批", since_last_action=False)
        assert "备注：工商银行" in approved["text"]
        async with transaction(sessions) as session:
            loan = await _track(session, deal_id, "loan")
            await milestones.advance(staff_work(session, agent_id), loan, "disbursed")
        await reminder_tick.tick(workplace)
        await bob.wait_for("的贷款：已放款", since_last_action=False)
        texts = bob.texts()
    assert any("材料已收齐" in text for text in texts), texts  # told when the last document arrived
    async with sessions() as session:
        attachment = await session.scalar(select(DealAttachment))
        loan = await _track(session, deal_id, "loan")
    assert attachment.deal_id == deal_id and attachment.document == "id_card" and attachment.uploaded_by_customer
    assert attachment.telegram_file_id
    assert loan.status == "disbursed" and [d["received_at"] is not None for d in loan.data["documents"]] == [
        True, True]


async def test_move_in_notice_once_booking_and_inspection_defects(api, make_channel, sessions, frozen_clock,
                                                                   bus) -> None:
    deal_id, agent_id = await _deal(sessions, method="full")
    async with transaction(sessions) as session:
        project = await session.scalar(select(Project))
        session.add_all([
            ProjectFee(project_id=project.id, name="Property fee, 3 months", name_zh="物业费（3个月）",
                       amount=3, per_m2=True),
            ProjectFee(project_id=project.id, name="Maintenance fund", name_zh="维修基金", amount=2000),
            InspectionSlot(project_id=project.id, starts_at=datetime(2026, 3, 5, 2, tzinfo=UTC), capacity=1),
            InspectionSlot(project_id=project.id, starts_at=datetime(2026, 3, 6, 6, tzinfo=UTC), capacity=1)])
    workplace = workplace_for(sessions, bus)
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        ann.send_text("When is my handover?")
        await ann.wait_for("phone number on your contract")
        ann.tap("Share my phone number")
        status = await ann.wait_for("Contract HT-2026-001")
        assert "Move-in: not started" in status["text"] and "Handover date: Mon 16 Mar 2026" in status["text"]
        assert "Loan" not in status["text"]  # asked about the handover only (and paid in full)

        # 13 days and 23 hours before: nothing; 14 days before, 10:00: the notice, once
        frozen_clock.set(datetime(2026, 3, 2, 1, 59, tzinfo=UTC))
        assert await milestones.tick(workplace) == (0, 0)
        frozen_clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        assert (await milestones.tick(workplace))[0] == 1
        assert (await milestones.tick(workplace))[0] == 0
        await reminder_tick.tick(workplace)
        notice = await ann.wait_for("Move-in notice", since_last_action=False)
        assert "handed over to you on Mon 16 Mar 2026" in notice["text"]
        assert "Property fee, 3 months: 303.00 CNY" in notice["text"]  # 3 per m² of the measured 101 m²
        assert "Maintenance fund: 2,000.00 CNY" in notice["text"] and "Total: 2,303.00 CNY" in notice["text"]
        frozen_clock.set(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
        await milestones.tick(workplace)
        await reminder_tick.tick(workplace)
        assert sum("Move-in notice" in text for text in ann.texts()) == 1

        ann.press("Book the inspection", search_last=3)
        times = await ann.wait_for("When would you like to inspect your home?")
        labels = [b["text"] for row in times["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["Thu 5 Mar, 10:00", "Fri 6 Mar, 14:00"]
        ann.press("Thu 5 Mar, 10:00")
        await ann.wait_for("Your handover inspection is booked: Thu 5 Mar, 10:00.")

        async with transaction(sessions) as session:
            move_in = await _track(session, deal_id, "move_in")
            assert move_in.status == "slot_booked"
            created = await milestones.record_inspection(
                staff_work(session, agent_id), move_in, checked=["walls", "plumbing", "doors_windows"],
                defects=[Defect("walls_decoration", "Crack above the living-room window"),
                         Defect("doors_windows", "Balcony door does not close")])
            assert len(created) == 2
        await reminder_tick.tick(workplace)
        inspected = await ann.wait_for("The handover inspection of Sunny Garden 3-1201 is recorded.",
                                       since_last_action=False)
        assert "R-2026-000001, R-2026-000002" in inspected["text"]
    async with sessions() as session:
        found = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
        slot = await session.scalar(select(InspectionSlot).order_by(InspectionSlot.starts_at))
    assert [(t.kind, t.category, t.warranty_status, t.description) for t in found] == [
        ("repair", "walls_decoration", "in", "Crack above the living-room window"),
        ("repair", "doors_windows", "in", "Balcony door does not close")]
    assert slot.booked == 1


async def test_certificate_from_filed_to_signed_for_and_the_owner_asks(api, make_channel, sessions, frozen_clock,
                                                                      bus) -> None:
    deal_id, agent_id = await _deal(sessions, method="full")
    workplace = workplace_for(sessions, bus)
    async with make_channel(api):
        bob = api.customer(first_name="Bob", language_code="zh-hans")
        bob.send_text("我的房产证办到哪一步了")
        await bob.wait_for("合同上的手机号")
        bob.tap("分享我的手机号")
        first = await bob.wait_for("合同 HT-2026-001")
        assert "房产证：未开始" in first["text"] and "贷款" not in first["text"] and "入伙" not in first["text"]
        for step in ("documents_collected", "filed"):
            async with transaction(sessions) as session:
                certificate = await _track(session, deal_id, "certificate")
                await milestones.advance(staff_work(session, agent_id), certificate, step)
        await reminder_tick.tick(workplace)
        await bob.wait_for("的房产证：已递件", since_last_action=False)
        bob.send_text("我的房产证办到哪一步了")
        answer = await bob.wait_for("合同 HT-2026-001")
        assert "房产证：已递件" in answer["text"] and "负责人：Wang Li" in answer["text"]
        for step in ("issued", "ready_for_pickup", "signed_for"):
            async with transaction(sessions) as session:
                certificate = await _track(session, deal_id, "certificate")
                await milestones.advance(staff_work(session, agent_id), certificate, step)
        await reminder_tick.tick(workplace)
        await bob.wait_for("房产证已可领取，请携带身份证", since_last_action=False)
        await bob.wait_for("的房产证：已签收", since_last_action=False)
        bob.send_text("我的房产证办到哪一步了")
        final = await bob.wait_for("合同 HT-2026-001")
        assert "房产证：已签收" in final["text"] and "负责人" not in final["text"]  # finished: nobody to chase
        bob.send_command("start")
        await bob.wait_for("您好")
        assert "我的购房进度" in bob.buttons()  # an owner with a deal has it in the menu
        bob.press("我的购房进度")
        everything = await bob.wait_for("合同 HT-2026-001")
        assert "入伙：未开始" in everything["text"] and "面积补差：未开始" in everything["text"]
        menu_owner = bob.texts()
    assert sum("房产证：" in text for text in menu_owner) >= 3
