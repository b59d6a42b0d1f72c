"""Customers staff enter themselves (a caller, a walk-in): created, edited, shown with the homes they own, merged
with the record they later write from; and the tag filter over every customer, paged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from storage import clock
from storage.db import transaction
from storage.models import AuditLog, Customer, CustomerUnit, Staff
from storage.repositories import customers
from tests import factories
from tests.staff_console.conftest import sign_in
from tests.staff_console.page_tables import has_element, rows

WALK_IN = {"source": "walk_in", "first_name": "Mei", "last_name": "Chen", "phone": "+86 139-0000-0888",
           "gender": "female", "language": "zh"}


async def test_a_walk_in_entered_by_staff_is_listed_and_the_homes_they_own_show_on_their_card(
        client, make_client, team, sessions):
    async with transaction(sessions) as session:
        home = await factories.unit(session, project="Lakeside", building="7", unit_no="0808", phone="13900000888")
    csrf = await sign_in(client, "agent@example.com")
    assert has_element(await (await client.get("/customers/new")).text(), "customer-new")
    created = await client.post("/customers/new", data={**WALK_IN, "csrf_token": csrf}, allow_redirects=False)
    assert created.status == 303
    customer_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with sessions() as session:
        mei = await session.get(Customer, customer_id)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_create"))
    assert (mei.first_name, mei.last_name, mei.phone, mei.gender, mei.language, mei.source) == (
        "Mei", "Chen", "13900000888", "female", "zh", "walk_in")
    assert mei.telegram_user_id is None and mei.web_visitor_id is None and mei.phone_verified_at is None
    assert (audit.staff_id, audit.target_id) == (team.agent.id, customer_id)

    listed = rows(await (await client.get("/customers")).text(), "customers")
    assert [(row.attrs["data-customer"], row.cells[0], row.cells[3]) for row in listed] == [
        (str(customer_id), "Mei Chen walk-in", "13900000888")]
    assert [row.attrs["data-customer"] for row in rows(await (await client.get("/customers?q=0888")).text(),
                                                       "customers")] == [str(customer_id)]
    typed = await client.get("/customers", params={"q": "+86 139-0000-0888"})
    assert [row.attrs["data-customer"] for row in rows(await typed.text(), "customers")] == [str(customer_id)]
    card = await (await client.get(f"/customers/{customer_id}")).text()
    assert 'id="entered-by-staff">walk-in</span>' in card and "channel-telegram" not in card
    assert rows(card, "owned-units") == [] and has_element(card, "edit-details") and has_element(card, "merge")

    service = await make_client()
    service_csrf = await sign_in(service, "service@example.com")
    unit_page = await (await service.get(f"/units/{home.id}")).text()
    assert [row.cells[0].split(" ·")[0] for row in rows(unit_page, "candidates")] == [f"Mei Chen #{customer_id}"]
    linked = await service.post(f"/units/{home.id}/owners", data={"customer_id": str(customer_id),
                                                                   "csrf_token": service_csrf},
                                allow_redirects=False)
    assert linked.status == 303
    owned = rows(await (await client.get(f"/customers/{customer_id}")).text(), "owned-units")
    assert [(row.attrs["data-unit"], row.cells[0], row.cells[1]) for row in owned] == [
        (str(home.id), "Lakeside 7-0808", "Jun 1, 2025")]


async def test_staff_edit_a_customers_details_with_validation_in_their_language(client, team, sessions):
    async with transaction(sessions) as session:
        li = await factories.customer(session)
        li.phone_verified_at = clock.now()
        li.phone = "13800000001"
    csrf = await sign_in(client, "agent@example.com")
    saved = await client.post(f"/customers/{li.id}/details", data={
        "first_name": "Li", "last_name": "Wei", "phone": "13800000002", "gender": "male", "language": "zh",
        "csrf_token": csrf}, allow_redirects=False)
    assert saved.status == 303
    async with sessions() as session:
        after = await session.get(Customer, li.id)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_edit"))
    assert (after.first_name, after.last_name, after.phone, after.gender, after.language) == (
        "Li", "Wei", "13800000002", "male", "zh")
    assert after.phone_verified_at is None and after.language_chosen is True  # a typed number proves nothing
    assert audit.details["phone"] == ["13800000001", "13800000002"] and audit.details["gender"] == [None, "male"]

    no_name = await client.post(f"/customers/{li.id}/details", data={
        "first_name": " ", "last_name": "", "phone": "", "gender": "", "language": "en", "csrf_token": csrf})
    assert no_name.status == 400
    page = await no_name.text()
    assert "Not saved: a customer needs a name." in page and has_element(page, "edit-details")
    bad_phone = await client.post("/customers/new", data={**WALK_IN, "phone": "call me", "csrf_token": csrf})
    assert bad_phone.status == 400 and "Not saved: call me is not a phone number (7 to 15 digits)." in \
        await bad_phone.text()
    async with transaction(sessions) as session:
        await session.execute(update(Staff).where(Staff.id == team.agent.id).values(language="zh"))
    odd = await client.post("/customers/new", data={**WALK_IN, "gender": "x", "csrf_token": csrf})
    page = await odd.text()
    assert odd.status == 400 and "未保存：未知性别 x。" in page and 'value="Mei"' in page
    nowhere = await client.post("/customers/new", data={**WALK_IN, "source": "fax", "csrf_token": csrf})
    assert nowhere.status == 400 and "未知来源 fax" in await nowhere.text()
    async with sessions() as session:
        assert await session.scalar(select(Customer.id).where(Customer.source.is_not(None))) is None


async def test_a_walk_in_merges_into_the_telegram_record_they_later_write_from(client, team, sessions):
    async with transaction(sessions) as session:
        home = await factories.unit(session, unit_no="0909", phone="13900000909")
        telegram, _ = await customers.get_or_create(session, telegram_user_id=909, chat_id=909, first_name="Mei")
    csrf = await sign_in(client, "agent@example.com")
    created = await client.post("/customers/new", data={**WALK_IN, "phone": "13900000909", "csrf_token": csrf},
                                allow_redirects=False)
    walk_in_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with transaction(sessions) as session:
        session.add(CustomerUnit(customer_id=walk_in_id, unit_id=home.id))
    assert not has_element(await (await client.get(f"/customers/{telegram.id}")).text(), "merge")
    refused = await client.post(f"/customers/{telegram.id}/merge", data={"into": str(walk_in_id),
                                                                         "csrf_token": csrf}, allow_redirects=False)
    assert refused.status == 303 and refused.headers["Location"] == f"/customers/{telegram.id}"
    merged = await client.post(f"/customers/{walk_in_id}/merge", data={"into": str(telegram.id), "csrf_token": csrf},
                               allow_redirects=False)
    assert merged.status == 303 and merged.headers["Location"] == f"/customers/{telegram.id}"
    page = await (await client.get(f"/customers/{telegram.id}")).text()
    assert f"Merged: customer #{walk_in_id} and their history are now part of this customer." in page
    assert [row.cells[0] for row in rows(page, "owned-units")] == ["Sunny Garden 3-0909"]
    async with sessions() as session:
        assert await session.get(Customer, walk_in_id) is None
        kept = await session.get(Customer, telegram.id)
    assert (kept.telegram_user_id, kept.chat_id, kept.channel) == (909, 909, "telegram")
    assert (kept.phone, kept.gender, kept.source, kept.last_name) == ("13900000909", "female", "walk_in", "Chen")


async def test_the_tag_filter_finds_customers_beyond_the_first_500_and_pages(client, team, sessions):
    now = clock.now()
    async with transaction(sessions) as session:
        await session.execute(insert(Customer), [
            {"telegram_user_id": 700_000 + n, "chat_id": 700_000 + n, "first_name": f"Bulk{n}",
             "tags": ["vip"] if n in (0, 1) else ["lead"], "language": "en", "channel": "telegram",
             "last_seen_at": now - timedelta(minutes=n), "created_at": now, "updated_at": now}
            for n in range(650)])
        # The two least recently seen customers are the ones tagged "vip" after this.
        await session.execute(update(Customer).where(Customer.first_name.in_(("Bulk0", "Bulk1")))
                              .values(tags=["lead"]))
        await session.execute(update(Customer).where(Customer.first_name.in_(("Bulk648", "Bulk649")))
                              .values(tags=["lead", "vip"]))
    await sign_in(client, "agent@example.com")
    page = await (await client.get("/customers?tag=vip")).text()
    assert [row.cells[0] for row in rows(page, "customers")] == ["Bulk648", "Bulk649"]
    assert "2 customers" in page
    last = await (await client.get("/customers?tag=lead&page=7")).text()
    assert [row.cells[0] for row in rows(last, "customers")] == [f"Bulk{n}" for n in range(600, 650)]
    assert "page 7 of 7" in last and "650 customers" in last
    assert [row.cells[0] for row in rows(await (await client.get("/customers?tag=nobody")).text(),
                                         "customers")] == ["No customers found."]
