"""The console's deal pages at HTTP level: a deal created from the form (and refused with a clear message), its
tracks worked from the deal page (documents requested, received, approved), the inspection opening repair tickets,
the milestones board (overdue first), the report, the area settlement of a building, fees and slots; in English
and Chinese. Pages are read as tables and elements, not as words somewhere on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

from sqlalchemy import select

from storage.db import transaction
from storage.importers import import_deals
from storage.models import (
    AuditLog,
    Deal,
    InspectionSlot,
    Milestone,
    MilestoneEvent,
    ProjectFee,
    Reminder,
    Staff,
    Ticket,
)
from storage.services.deals import link_customer
from tests import factories
from tests.staff_console.conftest import sign_in
from tests.workplace import SETTINGS

HEADER = ("contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,"
          "payment_method,handover_date,staff_email,contract_area,measured_area\n")


class Page(HTMLParser):
    """Tables by id (rows of cell texts, with each row's attributes) and every element's attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[str]]]] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._table: str | None = None
        self._row: tuple[dict[str, str], list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag == "table" and values.get("id"):
            self._table = values["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = (values, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table: str) -> list[list[str]]:
        return [cells for attrs, cells in self.tables[table][1:]]

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        wanted = {(k.replace("_", "-") if k.startswith("data_") else k.rstrip("_")): v for k, v in attrs.items()}
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in wanted.items())]


async def _page(client, path: str) -> Page:
    response = await client.get(path)
    assert response.status == 200, (path, response.status)
    return Page(await response.text())


async def test_agent_creates_a_deal_and_a_bad_form_says_why(client, team, sessions, frozen_clock) -> None:
    token = await sign_in(client, "agent@example.com")
    form = (await _page(client, "/deals/new")).find("form", id="deal-form")
    assert form and form[0]["action"] == "/deals"
    values = {"contract_no": "HT-100", "kind": "sale", "signed_on": "2026-02-01", "price": "2,800,000",
              "currency": "CNY", "payment_method": "provident_fund", "handover_date": "2026-06-30",
              "staff_email": "agent@example.com", "project": "Sunny Garden", "building": "3", "unit_no": "1201",
              "customer_name": "Ann <Li>", "customer_phone": "138 0013 8000", "contract_area": "98.5",
              "csrf_token": token}
    bad = await client.post("/deals", data={**values, "payment_method": "cash"})
    assert bad.status == 422
    errors = Page(await bad.text())
    assert errors.find("div", id="form-errors")
    assert "payment_method is 'cash'; expected one of full, mortgage, provident_fund, combined" in unescape(
        await bad.text())
    response = await client.post("/deals", data=values, allow_redirects=False)
    assert response.status == 303
    async with sessions() as session:
        deal = await session.scalar(select(Deal))
        tracks = set(await session.scalars(select(Milestone.track).where(Milestone.deal_id == deal.id)))
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "deal_create"))
    assert response.headers["Location"] == f"/deals/{deal.id}"
    assert (deal.price, deal.customer_phone, deal.staff_id) == (Decimal("2800000.00"), "13800138000", team.agent.id)
    assert tracks == {"loan", "move_in", "settlement", "certificate"} and audit.staff_id == team.agent.id
    again = await client.post("/deals", data=values)
    assert again.status == 422 and "HT-100 already exists" in unescape(await again.text())
    listing = await _page(client, "/deals")
    assert [cells[0] for cells in listing.rows("deals")] == ["HT-100"]
    assert listing.rows("deals")[0][1] == "Ann <Li>"  # escaped in the page, read back as text


async def _imported(sessions, agent_email: str, *extra: str) -> int:
    text = HEADER + f"HT-7,Sunny Garden,3,1201,Ann Li,13800138000,2026-01-10,3000000,CNY,mortgage,2026-03-16," \
                    f"{agent_email},100,101\n" + "".join(extra)
    report = await import_deals(sessions, text.encode(), settings=SETTINGS)
    assert report.errors == []
    async with transaction(sessions) as session:
        customer = await factories.customer(session)
        customer.phone, customer.phone_verified_at = "13800138000", datetime(2026, 3, 1, tzinfo=UTC)
        await link_customer(session, customer)
        return (await session.scalar(select(Deal.id).where(Deal.contract_no == "HT-7")))


async def test_working_the_loan_and_the_move_in_from_the_deal_page(client, team, sessions, frozen_clock) -> None:
    deal_id = await _imported(sessions, "agent@example.com")
    token = await sign_in(client, "agent@example.com")
    page = await _page(client, f"/deals/{deal_id}")
    loan = page.find("article", data_track="loan")
    assert loan and loan[0]["data-status"] == "pending"
    # a step that needs its own form is not offered as a plain button, and is refused when forged
    assert not page.find("button", name="to", value="documents_requested")
    forged = await client.post(f"/deals/{deal_id}/loan/advance", data={"to": "documents_requested",
                                                                      "csrf_token": token})
    assert "documents_requested is recorded with its own form" in unescape(await forged.text())
    await client.post(f"/deals/{deal_id}/documents", data=[("document", "id_card"), ("document", "income_proof"),
                                                           ("note", "originals please"), ("csrf_token", token)])
    page = await _page(client, f"/deals/{deal_id}")
    assert [(d["data-document"], d["data-received"]) for d in page.find("li", data_received="0")] == [
        ("id_card", "0"), ("income_proof", "0")]
    for code in ("id_card", "income_proof"):
        await client.post(f"/deals/{deal_id}/documents/received", data={"document": code, "csrf_token": token})
    await client.post(f"/deals/{deal_id}/loan/advance", data={"to": "submitted", "csrf_token": token})
    await client.post(f"/deals/{deal_id}/loan/advance", data={"to": "approved", "note": "ICBC", "csrf_token": token})
    page = await _page(client, f"/deals/{deal_id}")
    assert page.find("article", data_track="loan")[0]["data-status"] == "approved"
    await client.post(f"/deals/{deal_id}/loan/advance", data={"to": "disbursed", "csrf_token": token})
    async with transaction(sessions) as session:  # approved 30 hours before it was disbursed
        approved = await session.scalar(select(MilestoneEvent).where(MilestoneEvent.to_status == "approved"))
        approved.at -= timedelta(hours=30)
    report = await _page(client, "/milestones/report")
    durations = {attrs["data-step"]: cells for attrs, cells in report.tables["durations"][1:]}
    assert durations["loan:approved"][1:] == ["approved", "1", "30", "30"]  # step, finished, p50, p90 hours
    assert durations["loan:documents_requested"][2] == "1"
    async with sessions() as session:
        statuses = [r.payload["status"] for r in await session.scalars(
            select(Reminder).where(Reminder.kind == "deal_update").order_by(Reminder.id))]
    assert statuses == ["documents_requested", "documents_received", "submitted", "approved", "disbursed"]

    frozen_clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # the move-in notice's moment
    from storage.services import milestones
    from tests.workplace import workplace_for

    await milestones.tick(workplace_for(sessions))
    response = await client.post(f"/deals/{deal_id}/inspection", data={
        "checked": "walls", "defect_0": "Crack above the window", "category_0": "walls_decoration",
        "defect_1": "Tap drips", "category_1": "plumbing", "csrf_token": token})
    assert response.status == 200
    async with sessions() as session:
        found = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
    assert [(t.category, t.warranty_status) for t in found] == [("walls_decoration", "in"), ("plumbing", "in")]
    page = await _page(client, f"/deals/{deal_id}")
    assert page.find("a", href=f"/tickets/{found[0].id}") and page.find("form", class_="handover-form")
    await client.post(f"/deals/{deal_id}/handover", data={"handed_over_on": "2026-03-16", "keys": "2",
                                                          "meter_water": "3.5", "csrf_token": token})
    page = await _page(client, f"/deals/{deal_id}")
    assert page.find("article", data_track="move_in")[0]["data-status"] == "handed_over"
    bad = await client.post(f"/deals/{deal_id}/handover", data={"handed_over_on": "x", "keys": "2",
                                                                "csrf_token": token})
    assert "handed_over_on must be a date (YYYY-MM-DD)" in unescape(await bad.text())


async def test_board_lists_overdue_first_and_filters(client, team, sessions, frozen_clock) -> None:
    line = "HT-8,Moon Bay,1,101,Bo Wu,13900139000,2026-01-10,2000000,CNY,full,2026-09-01,agent@example.com,,\n"
    deal_id = await _imported(sessions, "agent@example.com", line)
    async with transaction(sessions) as session:
        loan = await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id, Milestone.track == "loan"))
        loan.due_at = datetime(2026, 3, 1, tzinfo=UTC)  # yesterday
    await sign_in(client, "service@example.com")
    board = await _page(client, "/milestones")
    rows = board.tables["milestones"][1:]
    assert rows[0][0]["data-overdue"] == "1" and rows[0][1][3] == "Loan"
    assert all(attrs["data-overdue"] == "0" for attrs, _ in rows[1:])
    only = await _page(client, "/milestones?track=certificate&project=Moon+Bay")
    assert [(cells[1], cells[3], cells[4]) for cells in only.rows("milestones")] == [
        ("HT-8", "Property certificate", "not started")]
    assert (await client.get("/deals", allow_redirects=False)).status == 403  # service staff: board only
    await sign_in(client, "agent@example.com")
    report = await _page(client, "/milestones/report")
    assert dict((cells[0], cells[1]) for cells in report.rows("overdue"))["Loan"] == "1"
    assert report.rows("deal-complaints") == [["No complaints from buyers with a deal."]]
    # A buyer with a deal complains about the contract; a customer without one complains too: only the first counts.
    from storage.services import tickets

    async with transaction(sessions) as session:
        buyer = await session.scalar(select(Deal.customer_id).where(Deal.id == deal_id))
        stranger = await factories.customer(session)
        for customer_id in (buyer, stranger.id):
            await tickets.create_ticket(session, kind="complaint", category="contract_sales", customer_id=customer_id,
                                        description="the title transfer is late", settings=SETTINGS)
    report = await _page(client, "/milestones/report")
    assert report.rows("deal-complaints") == [["Contract / sales", "1"]]


async def test_admin_settles_a_building_and_configures_fees_and_slots(client, team, sessions, frozen_clock) -> None:
    more = "".join(f"S-{n},Sunny Garden,3,{1300 + n},Owner {n},1380013800{n},2026-01-10,3000000,CNY,full,," \
                   f",100,{area}\n" for n, area in ((1, "102"), (2, "95")))
    deal_id = await _imported(sessions, "agent@example.com", more)
    token = await sign_in(client, "admin@example.com")
    page = await _page(client, "/deals/settlement")
    building = page.find("option")[0]["value"]
    result = await client.post("/deals/settlement", data={"building_id": building, "notify": "1",
                                                           "csrf_token": token})
    table = Page(await result.text())
    contracts = [attrs["data-contract"] for attrs, _ in table.tables["settlements"][1:]]
    assert contracts == ["HT-7", "S-1", "S-2"]
    assert [a["data-amount"] for a in table.find("td", class_="num amount")] == ["30000.00", "60000.00",
                                                                                 "-210000.00"]
    assert table.rows("settlements")[0][-1] == "¥30,000 · owner pays"
    assert table.rows("settlements")[2][-1] == "-¥210,000 · owner refunded"
    async with sessions() as session:
        project_id = (await session.get(Deal, deal_id)).project_id
    await client.post(f"/deals/projects/{project_id}/fees", data={"name": "Property fee", "name_zh": "物业费",
                                                                  "amount": "3.5", "per_m2": "1",
                                                                  "csrf_token": token})
    await client.post(f"/deals/projects/{project_id}/slots", data={"day": "2026-03-05", "from": "09:00",
                                                                   "until": "12:00", "every": "60", "capacity": "2",
                                                                   "csrf_token": token})
    bad = await client.post(f"/deals/projects/{project_id}/slots", data={"day": "2026-03-05", "from": "12:00",
                                                                         "until": "09:00", "csrf_token": token})
    assert "Slots need an end after the start" in unescape(await bad.text())
    page = await _page(client, f"/deals/projects/{project_id}")
    assert [cells[0] for cells in page.rows("fees")] == ["Property fee"]
    assert len(page.rows("slots")) == 3
    async with sessions() as session:
        fee = await session.scalar(select(ProjectFee))
        slots = (await session.scalars(select(InspectionSlot).order_by(InspectionSlot.starts_at))).all()
    assert fee.per_m2 and fee.amount == Decimal("3.50")
    assert slots[0].starts_at == datetime(2026, 3, 5, 1, tzinfo=UTC) and slots[0].capacity == 2
    await sign_in(client, "agent@example.com")
    assert (await client.get("/deals/settlement", allow_redirects=False)).status == 403


async def test_pages_in_chinese(client, team, sessions, frozen_clock) -> None:
    deal_id = await _imported(sessions, "agent@example.com")
    async with transaction(sessions) as session:
        agent = await session.get(Staff, team.agent.id)
        agent.language = "zh"
    await sign_in(client, "agent@example.com")
    page = await _page(client, f"/deals/{deal_id}")
    heading = [a for a in page.find("article", data_track="certificate")]
    assert heading
    html = await (await client.get(f"/deals/{deal_id}")).text()
    assert "房产证" in html and "未开始" in html and "商业贷款" in html
    board = await _page(client, "/milestones")
    assert {cells[3] for cells in board.rows("milestones")} >= {"贷款", "入伙", "房产证"}
    assert board.tables["milestones"][0][1][:2] == ["截止时间", "合同"]
    async with transaction(sessions) as session:
        assert await session.scalar(select(Deal.id)) == deal_id



async def test_a_viewing_that_ended_signed_opens_the_deal_form(client, team, sessions, frozen_clock) -> None:


    from storage import clock
    from storage.models import Customer, Listing, Viewing

    now = clock.now()
    async with transaction(sessions) as session:
        customer = Customer(telegram_user_id=3, chat_id=3, first_name="Viv", tags=[], phone="13600136000")
        listing = Listing(ref_code="V-1", deal_type="sale", property_type="apartment", city="Beijing",
                          district_name="Chaoyang", price=Decimal(3000000), photos=[])
        session.add_all([customer, listing])
        await session.flush()
        viewing = Viewing(listing_id=listing.id, customer_id=customer.id, agent_id=team.agent.id,
                          starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
        session.add(viewing)
        await session.flush()
        viewing_id, listing_id = viewing.id, listing.id
    token = await sign_in(client, "agent@example.com")
    response = await client.post(f"/viewings/{viewing_id}/outcome", data={"outcome": "signed", "csrf_token": token},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/deals/new?viewing={viewing_id}"
    form = await _page(client, response.headers["Location"])
    fields = {a["name"]: a.get("value", "") for a in form.find("input") if a.get("name")}
    assert fields["viewing_id"] == str(viewing_id) and fields["listing_id"] == str(listing_id)
    assert fields["customer_name"] == "Viv" and fields["customer_phone"] == "13600136000"
    calendar = await _page(client, f"/viewings?week={now.date().isoformat()}")
    assert calendar.find("a", href=f"/deals/new?viewing={viewing_id}")
    await client.post("/deals", data={**fields, "contract_no": "HT-V1", "kind": "sale", "price": "3000000",
                                      "currency": "CNY", "payment_method": "full", "project": "Moon Bay",
                                      "building": "1", "unit_no": "101", "staff_email": "agent@example.com",
                                      "csrf_token": token})
    async with sessions() as session:
        deal = await session.scalar(select(Deal).where(Deal.contract_no == "HT-V1"))
    assert (deal.viewing_id, deal.listing_id, deal.customer_phone) == (viewing_id, listing_id, "13600136000")


async def test_inspection_photo_reaches_the_repair_ticket(team, sessions, bus, frozen_clock, tmp_path) -> None:
    import aiohttp
    from aiohttp.test_utils import TestClient, TestServer

    from staff_console.app import create_app
    from storage.models import TicketAttachment
    from storage.services import milestones
    from tests.staff_console.conftest import console_settings
    from tests.workplace import workplace_for

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    deal_id = await _imported(sessions, "agent@example.com")
    frozen_clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    await milestones.tick(workplace_for(sessions))
    app = create_app(settings=console_settings(media_dir=str(tmp_path)), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as client:
        token = await sign_in(client, "agent@example.com")
        form = aiohttp.FormData()
        for name, value in (("csrf_token", token), ("defect_0", "Scratched floor"), ("category_0",
                                                                                      "walls_decoration")):
            form.add_field(name, value)
        form.add_field("photo_0", png, filename="floor.png", content_type="image/png")
        response = await client.post(f"/deals/{deal_id}/inspection", data=form)
        assert response.status == 200
        async with sessions() as session:
            ticket = await session.scalar(select(Ticket))
            attachment = await session.scalar(select(TicketAttachment))
        assert ticket.description == "Scratched floor" and attachment.path.startswith("deals/")
        image = await client.get(f"/tickets/{ticket.id}/attachments/{attachment.id}")
        assert image.status == 200 and image.headers["Content-Type"] == "image/png" and await image.read() == png
        bad = aiohttp.FormData()
        for name, value in (("csrf_token", token), ("defect_0", "x"), ("category_0", "plumbing")):
            bad.add_field(name, value)
        bad.add_field("photo_0", b"not an image", filename="x.png", content_type="image/png")
        refused = await client.post(f"/deals/{deal_id}/inspection", data=bad)
        assert "must be a JPEG, PNG, WebP or GIF image" in unescape(await refused.text())


async def test_admin_sets_step_durations_and_notices(client, team, sessions, frozen_clock) -> None:
    from storage.models import MilestoneStep

    deal_id = await _imported(sessions, "agent@example.com")
    token = await sign_in(client, "admin@example.com")
    page = await _page(client, "/milestones/steps")
    fields = {a["name"]: a for a in page.find("input") if a.get("name", "").startswith(("days.", "notify."))}
    assert fields["days.loan.submitted"]["value"] == "21" and "checked" in fields["notify.loan.submitted"]
    assert "days.move_in.notice_sent" not in fields  # due on the handover date
    data = {name: a.get("value", "") for name, a in fields.items() if name.startswith("days.")}
    data.update({name: "1" for name, a in fields.items() if name.startswith("notify.") and "checked" in a})
    data["days.loan.submitted"] = "10"
    del data["notify.certificate.filed"]
    bad = await client.post("/milestones/steps", data={**data, "days.loan.approved": "-1", "csrf_token": token})
    assert "days must be from 0 to 730" in unescape(await bad.text())
    await client.post("/milestones/steps", data={**data, "csrf_token": token})
    async with sessions() as session:
        submitted = await session.get(MilestoneStep, ("loan", "submitted"))
        filed = await session.get(MilestoneStep, ("certificate", "filed"))
    assert (submitted.days, submitted.notify, filed.notify) == (10, True, False)
    # the override counts from the next change: submitted is due in 10 days; filed tells the customer nothing
    from storage.services import milestones
    from tests.workplace import staff_work

    async with transaction(sessions) as session:
        work = staff_work(session, team.agent.id)
        loan = await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id, Milestone.track == "loan"))
        await milestones.request_documents(work, loan, ["id_card"])
        await milestones.record_document(work, loan, "id_card")
        await milestones.advance(work, loan, "submitted")
        assert loan.due_at == frozen_clock.now() + timedelta(days=10)
        certificate = await session.scalar(select(Milestone).where(Milestone.deal_id == deal_id,
                                                                   Milestone.track == "certificate"))
        await milestones.advance(work, certificate, "documents_collected")
        change = await milestones.advance(work, certificate, "filed")
        assert change.notice is None
    await sign_in(client, "agent@example.com")
    assert (await client.get("/milestones/steps", allow_redirects=False)).status == 403
