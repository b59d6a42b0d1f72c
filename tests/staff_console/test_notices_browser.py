"""Notices to owners in a real browser (Debian's Chromium through Playwright), in Chinese: compose with both
languages, pick a building, preview the count, schedule, follow the recipients, cancel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.clock import FrozenClock
from storage.db import transaction
from storage.models import Broadcast, CustomerUnit, Staff
from storage.services import broadcasts
from tests import factories
from tests.conftest import requires_chromium
from tests.staff_console.test_tickets_browser import sign_in
from tests.workplace import workplace_for

pytestmark = requires_chromium


async def test_a_chinese_speaking_admin_sends_and_cancels_a_notice(browser, console, team, sessions,  # noqa: F811
                                                                   frozen_clock: FrozenClock) -> None:
    frozen_clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai: outside the quiet hours
    async with transaction(sessions) as session:
        (await session.get(Staff, team.admin.id)).language = "zh"
        for unit_no, language in (("101", "en"), ("102", "zh"), ("103", "zh")):
            person = await factories.customer(session, language=language)
            home = await factories.unit(session, building="7", unit_no=unit_no)
            session.add(CustomerUnit(customer_id=person.id, unit_id=home.id))
        await factories.unit(session, building="8", unit_no="801")
    context, page = await sign_in(browser, console, "admin@example.com", "/notices")
    try:
        assert await page.inner_text("h1") == "业主通知"
        await page.click("a[href='/notices/new']")
        await page.fill("textarea[name=text_en]", "Hot water is off on Friday <9-12>.")
        await page.fill("textarea[name=text_zh]", "周五9-12点停热水。")
        await page.select_option("select[name=building]", label="Sunny Garden · 7")
        await page.click("button[value=preview]")
        await page.wait_for_selector("#preview-count")
        assert await page.get_attribute("#preview-count", "data-owners") == "3"
        assert "3" in await page.inner_text("#preview-count") and "位" in await page.inner_text("#preview-count")
        assert await page.input_value("textarea[name=text_zh]") == "周五9-12点停热水。"  # kept
        await page.click("button[value=schedule]")
        await page.wait_for_selector("#facts")
        async with sessions() as session:
            notice = (await session.scalars(select(Broadcast))).one()
        assert page.url.endswith(f"/notices/{notice.id}")
        assert await page.inner_text("[data-field=status]") == "已计划"
        assert await page.inner_text("p[lang=en]") == "Hot water is off on Friday <9-12>."  # text, not markup

        await broadcasts.tick(workplace_for(sessions))
        await page.reload()
        assert await page.inner_text("#counts td[data-status=queued]") == "3"
        assert await page.locator("#recipients tbody tr").count() == 3
        await page.click("#cancel button")
        await page.wait_for_selector("[data-field=status][data-value=cancelled]")
        assert await page.inner_text("#counts td[data-status=cancelled]") == "3"
        assert await page.locator("#cancel").count() == 0
    finally:
        await context.close()
