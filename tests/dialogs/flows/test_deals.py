"""The owner's purchase flow without Telegram: a typed number never reveals a purchase, buttons of someone else's
deal are refused, a photo for a document lands on the deal once, and a customer with no deal is told so."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from dialogs.inbound import Inbound
from dialogs.replies import AskContact
from storage.db import transaction
from storage.importers import import_deals
from storage.models import Customer, Deal, DealAttachment, Milestone
from storage.services import milestones
from tests import factories
from tests.dialogs.helpers import FakeCustomer
from tests.workplace import SETTINGS, staff_work

HEADER = ("contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,"
          "payment_method,handover_date,staff_email\n")


async def _deal(sessions, phone: str = "13800138000", contract: str = "HT-1", unit: str = "1201") -> int:
    await import_deals(sessions, (HEADER + f"{contract},Sunny Garden,3,{unit},Ann,{phone},2026-01-10,3000000,CNY,"
                                           "mortgage,2026-06-30,\n").encode(), settings=SETTINGS)
    async with sessions() as session:
        return await session.scalar(select(Deal.id).where(Deal.contract_no == contract))


def tokens(reply) -> list[str]:
    return [c.token for row in getattr(reply, "choices", []) for c in row]


async def test_a_typed_number_never_shows_a_purchase(sessions, frozen_clock) -> None:
    deal_id = await _deal(sessions)
    visitor = FakeCustomer(sessions, user_id=3001, channel="web")
    replies = await visitor.text("where is my loan")
    assert isinstance(replies[0], AskContact)
    replies = await visitor.send(Inbound(kind="contact", phone="+86 138 0013 8000", contact_is_own=True,
                                         contact_typed=True))
    assert replies[-1].text.startswith("For your privacy I can only show a purchase")
    assert "HT-1" not in " ".join(getattr(r, "text", "") for r in replies)
    async with sessions() as session:
        assert (await session.get(Deal, deal_id)).customer_id is None


async def test_someone_elses_buttons_are_refused_and_a_document_lands_once(sessions, frozen_clock) -> None:
    mine = await _deal(sessions)
    theirs = await _deal(sessions, phone="13900139000", contract="HT-2", unit="1202")
    ann = FakeCustomer(sessions, user_id=4001)
    await ann.text("where is my loan")
    replies = await ann.send(Inbound(kind="contact", phone="+8613800138000", contact_is_own=True))
    assert any("Contract HT-1" in getattr(r, "text", "") for r in replies)
    async with transaction(sessions) as session:
        agent = await factories.staff(session, role="agent")
        loans = {m.deal_id: m for m in await session.scalars(select(Milestone).where(Milestone.track == "loan"))}
        for loan in loans.values():
            await milestones.request_documents(staff_work(session, agent.id), loan, ["id_card", "income_proof"])
        their_loan, my_loan = loans[theirs].id, loans[mine].id
    replies = await ann.press(f"deals:doc:{their_loan}:id_card")
    assert "expired" in replies[0].text  # not hers: as if the button were stale
    replies = await ann.text("my loan")
    assert f"deals:doc:{my_loan}:id_card" in tokens(replies[0])
    await ann.press(f"deals:doc:{my_loan}:id_card")
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("PHOTO-1",)))
    assert replies[0].text == "Thank you, we received your ID card. Still missing: proof of income"
    replies = await ann.press(f"deals:doc:{my_loan}:id_card")
    assert replies[0].text == "We already have that document, thank you."
    async with sessions() as session:
        attachments = (await session.scalars(select(DealAttachment))).all()
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == 4001))
    assert [(a.deal_id, a.document, a.telegram_file_id) for a in attachments] == [(mine, "id_card", "PHOTO-1")]
    assert customer.has_deal


async def test_a_verified_customer_without_a_deal_is_told(sessions, frozen_clock) -> None:
    bob = FakeCustomer(sessions, user_id=4002, language_code="zh-hans")
    async with transaction(sessions) as session:
        await factories.customer(session, user_id=4002, language="zh")
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == 4002))
        customer.phone, customer.phone_verified_at = "13700137000", datetime(2026, 1, 1, tzinfo=UTC)
    replies = await bob.text("我的房产证办到哪一步了")
    assert replies[0].text.startswith("您的手机号下没有找到已签约的合同")
    assert "deals:start" not in tokens(replies[0])  # no deal: no menu entry


async def test_a_photo_sent_without_a_button_is_asked_about_then_lands(sessions, frozen_clock) -> None:
    deal_id = await _deal(sessions)
    ann = FakeCustomer(sessions, user_id=4003)
    await ann.text("where is my loan")
    await ann.send(Inbound(kind="contact", phone="+8613800138000", contact_is_own=True))
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("EARLY",)))
    assert "did not understand" in replies[-1].text  # nothing asked for yet
    async with transaction(sessions) as session:
        agent = await factories.staff(session, role="agent")
        loan = await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id, Milestone.track == "loan"))
        await milestones.request_documents(staff_work(session, agent.id), loan, ["id_card", "income_proof"])
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("SMALL", "LARGE")))
    assert replies[0].text == "Thank you. Which document is this photo?"
    assert tokens(replies[0]) == [f"deals:is:{loan.id}:id_card", f"deals:is:{loan.id}:income_proof",
                                  "deals:cancel"]
    replies = await ann.press(f"deals:is:{loan.id}:income_proof")
    assert replies[0].text == "Thank you, we received your proof of income. Still missing: ID card"
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("ID",)))  # one left: it must be that one
    assert replies[0].text.startswith("Thank you, we received your ID card. We have every document")
    async with sessions() as session:
        stored = [(a.document, a.telegram_file_id) for a in
                  (await session.scalars(select(DealAttachment).order_by(DealAttachment.id))).all()]
        loan = await session.get(Milestone, loan.id)
    assert stored == [("income_proof", "LARGE"), ("id_card", "ID")] and loan.status == "documents_received"
