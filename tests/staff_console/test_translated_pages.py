"""Every console page in a real browser (Debian's Chromium through Playwright), as Chinese-speaking staff and as
English-speaking staff, looking for text left in the other language.

The walk signs in as a Chinese-speaking agent, admin and service technician and opens every page (the inbox and
its views, conversations, a customer card, listings and their forms, viewings, canned replies, the tickets board,
tickets, follow-ups, service settings, reports, staff, dead letters, the profile, the sign-in page), then does a
few things that put text on a page later (a customer starts waiting and the live inbox adds the row and a toast,
taking a conversation, a message arriving live, a form refused, a CSV import report, a flash). On each page it
reads every text node, the document title and the placeholder/title/aria-label/alt attributes, takes out the
data it seeded (names, messages, reference codes, e-mails, links, numbers) and fails on any Latin word left, but
for a short allow-list of names that are the same in Chinese: Homedesk, Telegram, CSV (the file format) and
"English", the language switch's name for English. `code` and `pre` blocks are raw data (CSV column names, a dead
letter's JSON and error) and are not read, nor are chat messages (`translate="no"`: what the customer and the bot
said, in the customer's language). The English walk fails on any Chinese character left, but "中文"
(the switch's name for Chinese).

`test_the_walk_covers_every_page` fails when a page the console serves is not walked, so a new page is walked too.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from dialogs.notices import NOTICES
from dialogs.replies import Say
from staff_console.app import create_app
from storage import updates
from storage.db import transaction
from storage.events import EventBus
from storage.models import (
    Building,
    CannedReply,
    Conversation,
    CustomerUnit,
    District,
    FaqEntry,
    FollowUpTask,
    InspectionSlot,
    Listing,
    ListingReport,
    Milestone,
    Need,
    OwnerLead,
    ProjectFee,
    Recommendation,
    Staff,
    StaffNotification,
    Survey,
    Viewing,
)
from storage.repositories import conversations, customers
from storage.services import broadcasts, deals, handoff, milestones, sla, ticket_desk, tickets
from storage.services.staff_accounts import create_staff
from tests import factories
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD, console_settings
from tests.staff_console.helpers import customer_writes, waiting_customer
from tests.workplace import SETTINGS, staff_work, workplace_for

TZ = ZoneInfo("Asia/Shanghai")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
# Names that stay as they are in Chinese; keep this short.
ALLOWED_LATIN = {"Homedesk", "Telegram", "CSV", "English"}
ALLOWED_CHINESE = {"中文"}
# Data that is not wording: e-mail addresses, links, Telegram usernames.
DATA_PATTERNS = (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), re.compile(r"https?://\S*"), re.compile(r"@\w+"))

# Every value the walk seeds or types (it is data, in whichever language): taken out before a page is checked.
DATA = [
    "李娜", "王伟", "刘洋", "Ada Admin", "Alan Agent", "维修",
    "陈静", "chenjing88", "业主", "重要客户", "喜欢安静的小区", "赵磊", "孙丽", "周杰", "周敏", "Zhou Min",
    "你好，我想看看静安的两居室", "您好！我是 Homedesk 智能助理，正在为您查找房源。", "好的，马上为您推荐",
    "客户预算五百万", "我想找人工客服", "谢谢，不用了", "周六下午可以看房吗？",
    "上海", "静安", "南京西路 1 号", "南北通透，采光好", "HD-1001", "HD-2002",
    "阳光花园", "厨房水龙头漏水", "客服态度不好", "工作日晚上", "已订购配件", "师傅迟到了", "请尽快回电",
    "客户想带家人一起看", "问候", "您好，请问有什么可以帮您？", "Greeting", "Hello! How can I help?",
    "国庆节", "abc", "'abc'", "Water off on Friday 9-12", "停水通知：周五9-12点",
    "营业厅周末开门吗？", "周六 10:00-16:00 开门。", "营业厅",
    "HT-2026-001", "物业费", "Property fee",
]
_DATA_SORTED = sorted(set(DATA), key=len, reverse=True)


def strip_data(text: str) -> str:
    for value in _DATA_SORTED:
        text = text.replace(value, " ")
    for pattern in DATA_PATTERNS:
        text = pattern.sub(" ", text)
    return text


def latin_left(text: str) -> list[str]:
    return [found for found in LATIN_WORD.findall(strip_data(text)) if found not in ALLOWED_LATIN]


def chinese_left(text: str) -> list[str]:
    return [found for found in CHINESE.findall(strip_data(text)) if found not in ALLOWED_CHINESE]


# What a page says: text nodes (options and SVG chart text too, hidden ones as well), the title, and the
# attributes people read or hear. Raw data blocks (code, pre) are not wording, nor what was said in a chat
# (marked translate="no": the customer's and the bot's messages are in the customer's language).
READ_PAGE = """() => {
  const out = [document.title];
  const raw = (node) => node && node.closest("script, style, code, pre, [translate=no]");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !raw(node.parentElement)) out.push(text);
  }
  for (const el of document.body.querySelectorAll("[placeholder], [title], [aria-label], [alt]")) {
    if (raw(el)) continue;
    for (const name of ["placeholder", "title", "aria-label", "alt"]) {
      const value = el.getAttribute(name);
      if (value) out.push(value);
    }
  }
  for (const el of document.body.querySelectorAll("input[type=submit], input[type=button]")) out.push(el.value);
  return out;
}"""


@dataclass
class Walk:
    """What one language's walk found: pages read and the text left in the wrong language."""

    language: str
    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    said: set[str] = field(default_factory=set)

    async def read(self, page, label: str) -> None:
        texts: list[str] = await page.evaluate(READ_PAGE)
        self.pages.append(label)
        for text in texts:
            self.said.add(text)
            left = latin_left(text) if self.language == "zh" else chinese_left(text)
            if left:
                self.problems.append(f"{label}: {left} in {text!r}")

    async def visit(self, page, base: str, path: str, label: str | None = None) -> None:
        response = await page.goto(base + path)
        assert response is not None and response.ok, f"{path}: {response.status if response else 'no answer'}"
        await page.wait_for_load_state("load")
        await self.read(page, label or path)

    def check(self) -> None:
        assert not self.problems, "text left in the other language:\n" + "\n".join(self.problems)


@dataclass
class Seeded:
    taken: int  # Wang Wei's conversation with Chen Jing (he writes in it)
    waiting: int
    closed: int
    customer: int
    listing: int
    repair: int
    complaint: int
    viewing: int
    admin: Staff
    agent: Staff
    service: Staff
    english_admin: Staff
    english_agent: Staff
    unit: int = 0  # Chen Jing's home (阳光花园 3-1201)
    faq: int = 0
    owner_lead: int = 1
    notice: int = 0  # a notice to the owners of 阳光花园 (two owners: one reached, one who blocked the bot)
    deal: int = 0  # Chen Jing's mortgage deal on 阳光花园 3-1202, documents requested
    project: int = 0


async def seed(sessions: async_sessionmaker) -> Seeded:
    now = datetime.now(TZ)
    async with transaction(sessions) as session:
        async def person(email: str, name: str, role: str, language: str, **extra: object) -> Staff:
            row = await create_staff(session, email, name, role, PASSWORD)
            row.language = language
            for key, value in extra.items():
                setattr(row, key, value)
            return row

        admin = await person("li.na@example.com", "李娜", "admin", "zh", is_team_lead=True)
        agent = await person("wang.wei@example.com", "王伟", "agent", "zh")
        service = await person("liu.yang@example.com", "刘洋", "service", "zh", team="维修",
                               skills=["plumbing"], service_areas=["阳光花园"])
        english_admin = await person("ada@example.com", "Ada Admin", "admin", "en")
        english_agent = await person("alan@example.com", "Alan Agent", "agent", "en")

        chen, _ = await customers.get_or_create(session, telegram_user_id=7001, chat_id=7001, first_name="陈静",
                                                language="zh")
        chen.username, chen.phone, chen.tags, chen.notes = "chenjing88", "13800138000", ["业主", "重要客户"], \
            "喜欢安静的小区"
        chen.last_seen_at = now
        zhao, _ = await customers.get_or_create(session, telegram_user_id=7002, chat_id=7002, first_name="赵磊",
                                                language="zh")
        zhao.unreachable_at = now - timedelta(hours=1)
        sun, _ = await customers.get_or_create(session, telegram_user_id=7003, chat_id=7003, first_name="孙丽",
                                               language="en")

        taken = await conversations.current(session, chen)
        await conversations.record(session, taken, direction="in", sender="customer", text="你好，我想看看静安的两居室")
        await conversations.record(session, taken, direction="out", sender="bot",
                                   text="您好！我是 Homedesk 智能助理，正在为您查找房源。")
        await handoff.request_handoff(session, taken, "asked")
        work = staff_work(session, agent.id)
        await handoff.take_over(work, taken.id)
        reply = "好的，马上为您推荐"
        await handoff.agent_reply(work, taken.id, Say(text=reply).to_payload(), text=reply)
        await handoff.add_note(work, taken.id, "客户预算五百万")

        waiting = await conversations.current(session, zhao)
        await conversations.record(session, waiting, direction="in", sender="customer", text="我想找人工客服")
        await handoff.request_handoff(session, waiting, "misunderstood")

        closed = await conversations.current(session, sun)
        await conversations.record(session, closed, direction="in", sender="customer", text="谢谢，不用了")
        await handoff.request_handoff(session, closed, "asked")
        await handoff.take_over(staff_work(session, english_agent.id), closed.id)
        await handoff.close(staff_work(session, english_agent.id), closed.id)

        district = District(city="上海", name="Jing'an", name_zh="静安", aliases=[], neighbours=[])
        session.add(district)
        await session.flush()
        listing = Listing(ref_code="HD-1001", deal_type="sale", property_type="apartment", city="上海",
                          district_id=district.id, district_name="Jing'an", address="南京西路 1 号",
                          price=Decimal("4800000"), currency="CNY", bedrooms=2, bathrooms=1, area_m2=89.5, floor=12,
                          floors_total=30, furnished=True, features=["elevator"], status="active",
                          description="南北通透，采光好", agent_id=agent.id)
        session.add(listing)
        await session.flush()
        session.add(Need(customer_id=chen.id, deal_type="sale", source_text="你好，我想看看静安的两居室", criteria={
            "deal_type": "sale", "property_types": ["apartment"], "districts": ["Jing'an"], "budget_min": None,
            "budget_max": 5000000, "currency": "CNY", "bedrooms_min": 2, "bedrooms_max": None, "area_min": 80,
            "area_max": None, "move_in_by": "2026-09-01", "must_have": ["elevator", "near_metro"],
            "furnished": True, "pets": None}))
        session.add(Recommendation(customer_id=chen.id, listing_id=listing.id, score=87))
        session.add(ListingReport(listing_id=listing.id, customer_id=zhao.id, reason="price"))
        lead = OwnerLead(customer_id=zhao.id, intent="sell", request="call", phone="13900139000",
                         intake={"intent": "sell", "district": "Jing'an", "community": "静安寺小区", "area_m2": 89.0,
                                 "bedrooms": 2, "floor": 6, "decoration": "basic", "price": 4_900_000.0},
                         valuation={"deal_type": "sale", "district": "Jing'an", "area_m2": 89.0, "bedrooms": 2,
                                    "count": 3, "low": 4_700_000.0, "high": 5_000_000.0, "estimate": 4_800_000.0,
                                    "per_m2_low": 52_800.0, "per_m2_high": 56_200.0, "widened": False,
                                    "shown": [{"listing_id": listing.id}]},
                         source_text="我想卖房 静安两居 89平")
        session.add(lead)
        await session.flush()
        monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(0, 5), tzinfo=TZ)
        start = max(now - timedelta(minutes=10), monday)
        viewing = Viewing(listing_id=listing.id, customer_id=chen.id, agent_id=agent.id, starts_at=start,
                          ends_at=start + timedelta(minutes=30), status="booked", note="客户想带家人一起看")
        session.add(viewing)

        unit = await factories.unit(session, project="阳光花园", building="3", unit_no="1201",
                                    handover=date(2025, 6, 1))
        unit.owner_name = "陈静"
        faq = FaqEntry(language="zh", question="营业厅周末开门吗？", answer="周六 10:00-16:00 开门。",
                       keywords=["营业厅"])
        session.add(faq)
        repair = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=chen.id,
                                             unit_id=unit.id, description="厨房水龙头漏水", access_window="工作日晚上",
                                             conversation_id=taken.id, settings=SETTINGS)
        complaint = await tickets.create_ticket(session, kind="complaint", category="service_attitude",
                                                customer_id=chen.id, description="客服态度不好", settings=SETTINGS)
        service_work = staff_work(session, service.id)
        await ticket_desk.assign(service_work, repair.id, service.id)
        await ticket_desk.change_status(service_work, repair.id, "in_progress", note="已订购配件")
        await ticket_desk.set_cost(service_work, repair.id, "150")
        await ticket_desk.set_priority(service_work, repair.id, "emergency")
        survey = Survey(subject_type="ticket", subject_id=repair.id, customer_id=chen.id, staff_id=service.id,
                        category="plumbing", score=2, comment="师傅迟到了", answered_at=now)
        session.add(survey)
        await session.flush()
        session.add(FollowUpTask(survey_id=survey.id, customer_id=chen.id, reason="low_score", note="请尽快回电"))

        session.add_all([
            CannedReply(language="zh", title="问候", body="您好，请问有什么可以帮您？", created_by=admin.id),
            CannedReply(language="en", title="Greeting", body="Hello! How can I help?", created_by=admin.id)])
        for who in (agent, admin, service, english_admin, english_agent):
            rendered = NOTICES.staff_notice("assigned", who.language, {"customer": "陈静"})
            session.add(StaffNotification(staff_id=who.id, text=rendered.text, link=f"/conversations/{taken.id}"))
        await updates.dead_letter(session, raw={"update_id": 777, "message": {"text": "hi"}},
                                  error="ValueError: boom", stage="handle", attempts=3, update_id=777, chat_id=555)
        await sla.set_holiday(session, date(2026, 10, 1), "国庆节", False)
        await sla.upsert_policy(session, kind="repair", category="plumbing", priority="normal",
                                first_response_minutes=120, resolve_minutes=2880, business_hours=True)
        session.add_all([CustomerUnit(customer_id=chen.id, unit_id=unit.id),
                         CustomerUnit(customer_id=zhao.id, unit_id=unit.id)])
        await session.flush()
        deal, _ = await deals.save_deal(session, deals.DealInput(
            contract_no="HT-2026-001", project="阳光花园", building="3", unit_no="1202", customer_name="陈静",
            customer_phone="13800138000", signed_on=date(2026, 1, 10), price=Decimal(3000000), currency="CNY",
            payment_method="mortgage", handover_date=date(2026, 12, 1), staff_email="wang.wei@example.com",
            contract_area=Decimal(100), measured_area=Decimal(101)), settings=SETTINGS)
        deal_loan = await session.scalar(select(Milestone).where(Milestone.deal_id == deal.id,
                                                                 Milestone.track == "loan"))
        await milestones.request_documents(staff_work(session, agent.id), deal_loan, ["id_card", "income_proof"])
        session.add_all([ProjectFee(project_id=deal.project_id, name="Property fee", name_zh="物业费",
                                    amount=Decimal(3), per_m2=True),
                         InspectionSlot(project_id=deal.project_id, starts_at=now + timedelta(days=30),
                                        capacity=2)])
        project = (await session.get(Building, unit.building_id)).project_id
        notice = await broadcasts.schedule(staff_work(session, admin.id), text_en="Water off on Friday 9-12",
                                           text_zh="停水通知：周五9-12点", audience={"project": [str(project)]},
                                           urgent=True)
        await session.flush()
        seeded = Seeded(taken=taken.id, waiting=waiting.id, closed=closed.id, customer=chen.id, listing=listing.id,
                        repair=repair.id, complaint=complaint.id, viewing=viewing.id, admin=admin, agent=agent,
                        service=service, english_admin=english_admin, english_agent=english_agent, unit=unit.id,
                        faq=faq.id, owner_lead=lead.id, notice=notice.id, deal=deal.id,
                        project=deal.project_id or 0)
    await broadcasts.tick(workplace_for(sessions))  # its recipients: one queued, one blocked
    return seeded


@pytest.fixture
async def console(sessions, bus: EventBus) -> AsyncIterator[str]:
    server = TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


# Each team's walk at one of the two screens issue 12 names: the Chinese team on a phone, the English one on a
# laptop (the server sends the same words at any width; the walk reads hidden text too).
VIEWPORTS = {"zh-CN": {"width": 390, "height": 844}, "en-US": {"width": 1366, "height": 768}}


async def signed_in(browser, base: str, email: str, locale: str):
    context = await browser.new_context(locale=locale, timezone_id="Asia/Shanghai", viewport=VIEWPORTS[locale])
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login?next=/profile")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/profile")
    return context, page


def agent_pages(s: Seeded) -> list[str]:
    return ["/inbox", "/inbox?view=mine", "/inbox?view=open", "/inbox?view=closed", f"/conversations/{s.taken}",
            f"/conversations/{s.waiting}", "/customers", f"/customers/{s.customer}", "/listings", "/listings/new",
            f"/listings/{s.listing}", "/listings/import", "/viewings", "/canned", "/tickets", "/tickets?status=all",
            f"/tickets/{s.repair}", f"/tickets/{s.complaint}", "/tickets/follow-ups", "/profile", "/customers/new",
            "/owners", f"/owners/{s.owner_lead}", "/listings/checks", "/deals", "/deals/new", f"/deals/{s.deal}",
            "/milestones", "/milestones/report"]


def admin_pages(s: Seeded) -> list[str]:
    return ["/inbox?view=open", f"/conversations/{s.closed}", f"/customers/{s.customer}", "/reports",
            "/reports?from=2020-01-01&to=2030-12-31", "/staff", "/canned", "/tickets/settings", "/dead-letters",
            "/listings/import", f"/viewings?agent={s.agent.id}", f"/tickets/{s.repair}", "/tickets/follow-ups",
            "/profile", "/technicians", f"/staff/{s.agent.id}", f"/staff/{s.service.id}", "/faq", "/faq?state=all",
            f"/faq/{s.faq}", "/faq/import", "/units", f"/units/{s.unit}", "/customers/new", "/notices", "/notices/new",
            f"/notices/{s.notice}", f"/notices/{s.notice}?status=blocked", "/deals/settlement",
            f"/deals/projects/{s.project}", "/milestones/steps", f"/deals/{s.deal}"]


def service_pages(s: Seeded) -> list[str]:
    return ["/tickets", f"/tickets/{s.repair}", "/tickets/follow-ups", "/profile", "/technicians",
            f"/staff/{s.service.id}", "/units", "/units?flag=no_owner", f"/units/{s.unit}", "/notices",
            f"/notices/{s.notice}", "/milestones"]


# Routes that answer something other than a page, or only send the browser on.
NOT_PAGES = {"/", "/healthz", "/ws", "/customers/export.csv", "/reports.csv", "/tickets/aftersales.css",
             "/faq/export.csv", "/conversations/{conversation_id}/photos/{message_id}/{index}",
             "/conversations/{conversation_id}/sent-photos/{message_id}",
             "/tickets/{ticket_id}/attachments/{attachment_id}", "/deals/{deal_id}/attachments/{attachment_id}",
             "/listings/{listing_id}/photos/{index}"}


def page_routes() -> set[str]:
    app = create_app(settings=console_settings(), sessions=async_sessionmaker(), bus=EventBus())
    found = set()
    for route in app.router.routes():
        if route.method != "GET" or isinstance(route.resource, web.StaticResource):
            continue
        info = route.resource.get_info()
        path = info.get("path") or re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", info["formatter"])
        if not path.startswith("/api/") and path not in NOT_PAGES:
            found.add(path)
    return found


def _route_of(path: str) -> str:
    bare = path.split("?")[0]
    if bare in page_routes():
        return bare
    for route in page_routes():
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(route)), bare):
            return route
    return bare


def test_the_walk_covers_every_page() -> None:
    s = Seeded(*([1] * 8), *([None] * 5), deal=1, project=1)  # type: ignore[arg-type]
    s.agent, s.service = Staff(id=1), Staff(id=2)
    walked = {_route_of(path) for path in [*agent_pages(s), *admin_pages(s), *service_pages(s), "/login"]}
    assert page_routes() - walked == set(), "pages the translation walk does not open"


async def _things_that_happen_later(walk: Walk, page, base: str, sessions, bus: EventBus, s: Seeded,
                                    who: str) -> None:
    """Text that only shows up later: a live row and toast, a flash, a live message."""
    await page.goto(f"{base}/inbox")
    await page.wait_for_selector("#live-state.on")
    arrived = await waiting_customer(sessions, bus, name="周杰", text="周六下午可以看房吗？",
                                     language="zh" if walk.language == "zh" else "en")
    row = f'#inbox tr[data-conversation="{arrived.id}"]'
    await page.wait_for_selector(row)
    await page.wait_for_selector("#toasts .toast")
    await page.wait_for_function(f"document.querySelector('{row} td.waited').textContent.length > 0")
    await walk.read(page, f"{who}: /inbox after a customer started waiting (live row, toast)")
    await page.click(f"{row} button.take")
    await page.wait_for_url(f"{base}/conversations/{arrived.id}")
    await page.wait_for_selector("p.flash")
    await walk.read(page, f"{who}: taking a conversation (flash)")
    await page.wait_for_selector("#live-state.on")
    message = await customer_writes(sessions, bus, arrived.id, "周六下午可以看房吗？")
    await page.wait_for_selector(f'#messages li[data-message-id="{message.id}"]')
    await page.fill("#reply-text", "好的，马上为您推荐")
    await page.click("#send")
    await page.wait_for_selector("#messages li.out.agent >> nth=-1")
    await walk.read(page, f"{who}: a live message and a reply")
    await page.goto(f"{base}/profile")
    await page.click("form[action='/profile/telegram'] button")
    await page.wait_for_selector("#telegram-link")
    await walk.read(page, f"{who}: a Telegram link on the profile")


async def _admin_forms(walk: Walk, page, base: str, s: Seeded, who: str) -> None:
    """Forms that answer with a page: a new staff member, a refused listing, an import report, a flash."""
    await page.goto(f"{base}/staff")
    await page.fill("form[action='/staff'] input[name=email]", f"zhou.min.{walk.language}@example.com")
    await page.fill("form[action='/staff'] input[name=name]", "周敏" if walk.language == "zh" else "Zhou Min")
    await page.click("form[action='/staff'] button.primary")
    await page.wait_for_selector("p.flash.info")
    await walk.read(page, f"{who}: a staff member created")
    await page.goto(f"{base}/listings/new")
    await page.fill("input[name=ref_code]", "HD-2002")
    await page.fill("input[name=city]", "上海")
    await page.fill("input[name=price]", "3000000")
    await page.fill("input[name=area_m2]", "80")
    await page.fill("input[name=floor]", "31")
    await page.fill("input[name=floors_total]", "30")
    await page.click("form.grid-form button.primary")
    await page.wait_for_selector("p.flash.error")
    await walk.read(page, f"{who}: a refused listing form")
    await page.goto(f"{base}/listings/import")
    header = ("ref_code,deal_type,property_type,city,district,address,price,currency,bedrooms,bathrooms,area_m2,"
              "floor,floors_total,available_from,furnished,pets_allowed,features,photos,agent_email,status,"
              "description,lat,lon")
    await page.set_input_files("input[name=file]", files=[{
        "name": "listings.csv", "mimeType": "text/csv",
        "buffer": (header + "\nHD-3003,sale,apartment,上海,静安,,abc,CNY,2,1,80,,,,,,,,,active,,,\n").encode()}])
    await page.click("form[action='/listings/import'] button.primary")
    await page.wait_for_selector("#import-report")
    await walk.read(page, f"{who}: a CSV import report")
    await page.goto(f"{base}/tickets/settings")
    await page.fill("#holiday-form input[name=day]", "2026-10-02")
    await page.click("#holiday-form button")
    await page.wait_for_selector("p.flash")
    await walk.read(page, f"{who}: a flash on the service settings")


async def _walk(browser, console: str, sessions, bus: EventBus, language: str) -> Walk:
    s = await seed(sessions)
    walk = Walk(language)
    locale = "zh-CN" if language == "zh" else "en-US"
    context = await browser.new_context(locale=locale, viewport=VIEWPORTS[locale])
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await walk.visit(page, console, "/login", "signed out: /login")
    finally:
        await context.close()
    if language == "zh":
        people = [("agent", s.agent.email, agent_pages(s)), ("admin", s.admin.email, admin_pages(s)),
                  ("service", s.service.email, service_pages(s))]
    else:
        people = [("agent", s.english_agent.email, agent_pages(s)), ("admin", s.english_admin.email, admin_pages(s))]
    for who, email, paths in people:
        context, page = await signed_in(browser, console, email, locale)
        try:
            for path in paths:
                await walk.visit(page, console, path, f"{who}: {path}")
            if who == "agent":
                await _things_that_happen_later(walk, page, console, sessions, bus, s, who)
            if who == "admin":
                await _admin_forms(walk, page, console, s, who)
        finally:
            await context.close()
    return walk


def _said(walk: Walk, expected: Iterable[str]) -> list[str]:
    return [text for text in expected if not any(text in said for said in walk.said)]


@requires_chromium
async def test_a_chinese_speaking_team_sees_no_english(browser, console, sessions, bus):
    walk = await _walk(browser, console, sessions, bus, "zh")
    walk.check()
    # The walk read what it should: Chinese wording, words for stored codes, live text, refusals, flashes.
    assert not _said(walk, ["收件箱", "人工接待中", "排队中", "等待客户回复", "处理中", "水管/给排水", "紧急",
                            "新客户排队中：周杰", "您已接入该会话。", "楼层 31 高于楼栋的总楼层 30",
                            "价格 为 'abc'，应为数字", "已创建", "已设为休息日", "报表", "工单（按类别）",
                            "异常消息", "2026年10月1日", "¥480万", "静安", "擅长：水管/给排水", "满意度评分低",
                            "业主通知", "已屏蔽机器人", "预览人数"])
    assert len(walk.pages) >= 45


@requires_chromium
async def test_an_english_speaking_team_sees_no_chinese_wording(browser, console, sessions, bus):
    walk = await _walk(browser, console, sessions, bus, "en")
    walk.check()
    assert not _said(walk, ["Inbox", "with staff", "waiting for the customer", "in progress", "Plumbing",
                            "New customer waiting: 周杰", "You took this conversation.", "Oct 1, 2026",
                            "¥4,800,000", "Jing'an"])
    async with sessions() as session:
        assert (await session.scalar(select(Conversation).where(Conversation.status == "closed"))) is not None
