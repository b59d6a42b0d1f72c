"""The other console areas: listings (filters, create, edit, status, CSV import), customers (search, tags,
export), staff administration, profile with the Telegram deep link, canned replies, viewings with outcomes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from storage import clock
from storage.db import transaction
from storage.models import AuditLog, CannedReply, Customer, District, Listing, Staff, Viewing
from storage.services import staff_link
from tests.staff_console.conftest import CSRF_RE, PASSWORD, sign_in

LISTING_FORM = {
    "deal_type": "rent", "property_type": "apartment", "status": "active", "city": "Beijing", "district_id": "",
    "address": "1 Guanghua Rd", "price": "8500", "currency": "CNY", "bedrooms": "2", "bathrooms": "1",
    "area_m2": "78.5", "floor": "5", "floors_total": "18", "available_from": "2026-04-01", "furnished": "yes",
    "pets_allowed": "no", "features": "balcony; elevator", "description": "Bright <b>flat</b>",
    "agent_id": "", "photos": "https://example.com/1.jpg\nhttps://example.com/2.jpg",
}


async def _district(sessions) -> int:
    async with transaction(sessions) as session:
        district = District(city="Beijing", name="Chaoyang", name_zh="朝阳", aliases=[], neighbours=[])
        session.add(district)
        await session.flush()
        return district.id


async def test_listing_create_edit_status_and_filters(client, team, sessions):
    district_id = await _district(sessions)
    token = await sign_in(client, "agent@example.com")
    response = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-1",
                                                        "district_id": str(district_id), "csrf_token": token},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    async with sessions() as session:
        listing = await session.scalar(select(Listing).where(Listing.ref_code == "BJ-1"))
        assert listing.district_name == "Chaoyang" and listing.furnished is True and listing.pets_allowed is False
        assert listing.features == ["balcony", "elevator"] and [p.url for p in listing.photos][1].endswith("2.jpg")
    duplicate = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-1", "csrf_token": token})
    assert duplicate.status == 400 and "already used" in await duplicate.text()
    bad = await client.post(f"/listings/{listing.id}", data={**LISTING_FORM, "price": "-3", "csrf_token": token})
    assert bad.status == 400 and "positive number" in await bad.text()
    cheaper = await client.post(f"/listings/{listing.id}", data={**LISTING_FORM, "price": "8000",
                                                                 "district_id": str(district_id),
                                                                 "status": "reserved", "csrf_token": token},
                                allow_redirects=False)
    assert cheaper.status == 303
    async with sessions() as session:
        listing = await session.get(Listing, listing.id)
        assert listing.price == Decimal("8000") and listing.previous_price == Decimal("8500")
        assert await session.scalar(select(AuditLog.details).where(AuditLog.action == "status")) == {
            "from": "active", "to": "reserved"}
    assert (await client.post(f"/listings/{listing.id}/status", data={"status": "rented", "csrf_token": token},
                              allow_redirects=False)).status == 303
    page = await (await client.get("/listings?status=rented&district=Chaoyang&min_price=7000")).text()
    assert "BJ-1" in page and "Bright &lt;b&gt;flat" not in page  # list shows no description
    assert "BJ-1" not in await (await client.get("/listings?status=active")).text()
    edit = await (await client.get(f"/listings/{listing.id}")).text()
    assert "Bright &lt;b&gt;flat&lt;/b&gt;" in edit


async def test_csv_import_reports_rows(client, team, sessions):
    await _district(sessions)
    token = await sign_in(client, "admin@example.com")
    header = ("ref_code,deal_type,property_type,city,district,address,price,currency,bedrooms,bathrooms,area_m2,"
              "floor,floors_total,available_from,furnished,pets_allowed,features,photos,agent_email,status,"
              "description,lat,lon\n")
    good = "CSV-1,sale,apartment,Beijing,Chaoyang,Road 1,3500000,CNY,3,2,120,8,20,,yes,no,lift,,,active,Nice,,\n"
    bad = "CSV-2,swap,apartment,Beijing,Chaoyang,Road 2,100,CNY,1,1,40,,,,,,,,,active,,,\n"
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", (header + good + bad).encode(), filename="listings.csv", content_type="text/csv")
    response = await client.post("/listings/import", data=form)
    text = await response.text()
    assert response.status == 200 and "1 inserted" in text and "1 rejected" in text
    assert "<td>3</td>" in text  # the bad row's line number
    async with sessions() as session:
        assert await session.scalar(select(Listing.ref_code)) == "CSV-1"
        assert await session.scalar(select(AuditLog.action).where(AuditLog.action == "listing_import"))


async def test_customer_search_tags_and_audited_export(client, team, sessions):
    async with transaction(sessions) as session:
        session.add_all([Customer(telegram_user_id=1, chat_id=1, first_name="Wang", username="wang_li", tags=[]),
                         Customer(telegram_user_id=2, chat_id=2, first_name="Smith", tags=[])])
    token = await sign_in(client, "admin@example.com")
    page = await (await client.get("/customers?q=wang")).text()
    assert "Wang" in page and "Smith" not in page
    async with sessions() as session:
        wang = await session.scalar(select(Customer).where(Customer.first_name == "Wang"))
    await client.post(f"/customers/{wang.id}", data={"tags": "vip, buyer，vip", "notes": "prefers WeChat",
                                                     "csrf_token": token})
    async with sessions() as session:
        assert (await session.get(Customer, wang.id)).tags == ["vip", "buyer"]
    assert "Smith" not in await (await client.get("/customers?tag=vip")).text()
    export = await client.get("/customers/export.csv")
    assert export.status == 200 and "wang_li" in await export.text()
    async with sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "export"))
        assert audit.staff_id == team.admin.id and audit.details == {"rows": 2}


async def test_staff_admin_create_edit_deactivate(make_client, team, sessions):
    admin = await make_client()
    token = await sign_in(admin, "admin@example.com")
    page = await (await admin.post("/staff", data={"email": "new@example.com", "name": "Nia New", "role": "agent",
                                                   "password": "", "csrf_token": token})).text()
    assert "Created new@example.com" in page and "Their first password is" in page
    async with sessions() as session:
        new = await session.scalar(select(Staff).where(Staff.email == "new@example.com"))
    await admin.post(f"/staff/{new.id}", data={"name": "Nia", "role": "agent", "max_concurrent": "3",
                                               "is_active": "on", "password": "a-new-password", "csrf_token": token})
    newcomer = await make_client()
    await sign_in(newcomer, "new@example.com", "a-new-password")
    assert (await newcomer.get("/inbox", allow_redirects=False)).status == 200
    await admin.post(f"/staff/{new.id}", data={"name": "Nia", "role": "agent", "max_concurrent": "3",
                                               "csrf_token": token})  # is_active unchecked
    assert (await newcomer.get("/inbox", allow_redirects=False)).status == 302
    async with sessions() as session:
        new = await session.get(Staff, new.id)
        assert not new.is_active and new.max_concurrent == 3
        statuses = (await session.scalars(select(AuditLog.details).where(AuditLog.action == "status"))).all()
    assert statuses[-1]["after"] == {"role": "agent", "is_active": False}
    refused = await admin.post(f"/staff/{team.admin.id}", data={"name": "Ada", "role": "agent",
                                                                "csrf_token": token})
    assert refused.status == 400


async def test_profile_telegram_deep_link_is_one_time(client, team, sessions):
    token = await sign_in(client, "service@example.com")
    page = await (await client.post("/profile/telegram", data={"csrf_token": token})).text()
    link = page.split('href="https://t.me/homedesk_test_bot?start=link_')[1].split('"')[0]
    async with transaction(sessions) as session:
        linked = await staff_link.consume_link_token(session, link, chat_id=4242)
        assert linked is not None and linked.id == team.service.id
    async with transaction(sessions) as session:
        assert await staff_link.consume_link_token(session, link, chat_id=4243) is None
    assert "Your Telegram account is linked" in await (await client.get("/profile")).text()


async def test_expired_link_token(sessions, team, frozen_clock):
    async with transaction(sessions) as session:
        person = await session.get(Staff, team.agent.id)
        token = await staff_link.create_link_token(session, person)
    frozen_clock.advance(hours=2)
    async with transaction(sessions) as session:
        assert await staff_link.consume_link_token(session, token, chat_id=1) is None


async def test_profile_password_change_needs_current_password(client, team):
    token = await sign_in(client, "agent@example.com")
    response = await client.post("/profile", data={"csrf_token": token, "name": "Alan", "language": "zh",
                                                   "current_password": "wrong", "new_password": "brand-new-pass"})
    assert "current password is wrong" in await response.text()
    await client.post("/profile", data={"csrf_token": token, "name": "Alan", "language": "zh",
                                        "current_password": PASSWORD, "new_password": "brand-new-pass"})
    await client.post("/logout", data={"csrf_token": CSRF_RE.search(await (await client.get("/profile")).text())
                                       .group(1)})
    await sign_in(client, "agent@example.com", "brand-new-pass")


async def test_canned_replies_admin_and_search(client, team, sessions):
    token = await sign_in(client, "admin@example.com")
    await client.post("/canned", data={"language": "zh", "title": "问候", "body": "您好，我是您的顾问。",
                                       "csrf_token": token})
    await client.post("/canned", data={"language": "en", "title": "Greeting", "body": "Hello there",
                                       "csrf_token": token})
    found = await (await client.get("/canned?q=hello&format=json")).json()
    assert [r["title"] for r in found] == ["Greeting"]
    zh = await (await client.get("/canned?lang=zh&format=json")).json()
    assert [r["body"] for r in zh] == ["您好，我是您的顾问。"]
    async with sessions() as session:
        reply_id = await session.scalar(select(CannedReply.id).where(CannedReply.language == "en"))
    await client.post(f"/canned/{reply_id}", data={"delete": "1", "csrf_token": token})
    assert await (await client.get("/canned?lang=en&format=json")).json() == []


async def test_viewings_calendar_and_outcome(client, team, sessions, frozen_clock):
    now = clock.now()
    async with transaction(sessions) as session:
        customer = Customer(telegram_user_id=3, chat_id=3, first_name="Viv", tags=[])
        listing = Listing(ref_code="V-1", deal_type="rent", property_type="apartment", city="Beijing",
                          district_name="Chaoyang", price=Decimal(9000), photos=[])
        session.add_all([customer, listing])
        await session.flush()
        viewing = Viewing(listing_id=listing.id, customer_id=customer.id, agent_id=team.agent.id,
                          starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
        session.add(viewing)
    token = await sign_in(client, "agent@example.com")
    page = await (await client.get(f"/viewings?week={now.date().isoformat()}")).text()
    assert "V-1" in page and "Viv" in page
    response = await client.post(f"/viewings/{viewing.id}/outcome", data={"outcome": "offer", "note": "wants 8.5k",
                                                                          "csrf_token": token},
                                 allow_redirects=False)
    assert response.status == 303
    async with sessions() as session:
        stored = await session.get(Viewing, viewing.id)
        assert (stored.status, stored.outcome, stored.note) == ("done", "offer", "wants 8.5k")
    other = await client.post(f"/viewings/{viewing.id}/outcome", data={"outcome": "done", "csrf_token": token})
    assert other.status == 200  # same agent may correct it
