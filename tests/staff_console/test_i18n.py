"""The console's language and locale (HTTP level; the browser walk is test_translated_pages.py): chosen per staff
member, defaulting to DEFAULT_LOCALE and the browser's Accept-Language before sign-in, switchable in the header;
flashes, JSON answers and CSV headers in that language; dates, times and money in the staff member's locale and
time zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from staff_console.app import create_app
from staff_console.i18n import Translator, from_accept_language
from staff_console.words import word
from storage.db import transaction
from storage.models import AuditLog, Customer, Staff
from tests.staff_console.conftest import console_settings, csrf_of, sign_in
from tests.staff_console.helpers import waiting_customer


async def _language(sessions, staff_id: int) -> str:
    async with sessions() as session:
        person = await session.get(Staff, staff_id)
        return person.language


async def _set(sessions, staff_id: int, **values: object) -> None:
    async with transaction(sessions) as session:
        person = await session.get(Staff, staff_id)
        for key, value in values.items():
            setattr(person, key, value)


async def test_a_staff_member_reads_the_console_in_their_profile_language(client, team, sessions):
    await _set(sessions, team.agent.id, language="zh")
    await sign_in(client, "agent@example.com")
    page = await (await client.get("/inbox")).text()
    assert '<html lang="zh-Hans">' in page
    assert "收件箱" in page
    assert "Inbox" not in page and "Sign out" not in page
    assert "退出登录" in page


async def test_the_header_switch_saves_the_language_to_the_profile(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    assert ">Inbox <span" in await (await client.get("/inbox?view=open")).text()  # the nav link and its badge
    response = await client.post("/language", data={"language": "zh", "next": "/inbox?view=open",
                                                    "csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/inbox?view=open"
    assert await _language(sessions, team.agent.id) == "zh"
    page = await (await client.get("/inbox?view=open")).text()
    assert "收件箱" in page and '<html lang="zh-Hans">' in page
    async with sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.staff_id == team.agent.id,
                                                            AuditLog.action == "staff_update"))
    assert audit is not None and audit.details["language"] == {"before": "en", "after": "zh"}

    back = await client.post("/language", data={"language": "en", "next": "//evil.example/",
                                                "csrf_token": token}, allow_redirects=False)
    assert back.status == 303 and back.headers["Location"] == "/"  # only our own pages
    assert await _language(sessions, team.agent.id) == "en"


async def test_the_switch_needs_the_csrf_token_and_a_known_language(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    forged = await client.post("/language", data={"language": "zh"}, allow_redirects=False)
    assert forged.status == 403
    unknown = await client.post("/language", data={"language": "fr", "csrf_token": token}, allow_redirects=False)
    assert unknown.status == 400
    assert await _language(sessions, team.agent.id) == "en"


async def test_before_sign_in_accept_language_then_the_default_locale_decide(sessions, bus):
    english = create_app(settings=console_settings(default_locale="en"), sessions=sessions, bus=bus)
    chinese = create_app(settings=console_settings(default_locale="zh"), sessions=sessions, bus=bus)
    async with TestClient(TestServer(english)) as client:
        assert ">Sign in<" in await (await client.get("/login")).text()
        asked = await (await client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})).text()
        assert ">登录<" in asked and '<html lang="zh-Hans">' in asked
    async with TestClient(TestServer(chinese)) as client:
        assert ">登录<" in await (await client.get("/login")).text()
        french = await (await client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})).text()
        assert ">登录<" in french  # nothing supported asked for: DEFAULT_LOCALE
        assert ">Sign in<" in await (await client.get("/login", headers={"Accept-Language": "en-GB"})).text()
        # The switch on the sign-in page wins over the browser, for this session.
        token = await csrf_of(client)
        response = await client.post("/language", data={"language": "en", "next": "/login", "csrf_token": token},
                                     allow_redirects=False)
        assert response.status == 303
        assert ">Sign in<" in await (await client.get("/login", headers={"Accept-Language": "zh-CN"})).text()


def test_accept_language_is_read_by_quality():
    assert from_accept_language("fr;q=1, zh-TW;q=0.5, en;q=0.8") == "en"
    assert from_accept_language("zh-Hans-CN") == "zh"
    assert from_accept_language("en;q=0, de") is None
    assert from_accept_language("") is None


async def test_wrong_password_and_flashes_in_the_visitors_language(client, team, sessions):
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "agent@example.com", "password": "wrong",
                                                  "csrf_token": token}, headers={"Accept-Language": "zh-CN"})
    assert response.status == 401 and "邮箱或密码错误。" in await response.text()
    await _set(sessions, team.admin.id, language="zh")
    token = await sign_in(client, "admin@example.com")
    await client.post("/canned", data={"language": "zh", "title": "", "body": "", "csrf_token": token},
                      allow_redirects=False)
    assert "快捷回复需要标题和正文。" in await (await client.get("/canned")).text()


async def test_json_answers_are_in_the_staff_members_language(client, team, sessions):
    conversation = await waiting_customer(sessions)
    await _set(sessions, team.agent.id, language="zh")
    token = await sign_in(client, "agent@example.com")
    empty = await client.post(f"/conversations/{conversation.id}/reply", data={"text": " ", "csrf_token": token},
                              headers={"Accept": "application/json"})
    assert empty.status == 400 and (await empty.json())["message"] == "请先输入内容。"
    # a refusal from the service (handoff.py), translated
    refused = await client.post(f"/conversations/{conversation.id}/close", data={"csrf_token": token},
                                headers={"Accept": "application/json"})
    assert refused.status == 403 and (await refused.json())["message"] == "该会话当前不是人工接待"
    await _set(sessions, team.service.id, language="zh")
    token = await sign_in(client, "service@example.com")
    # (service staff have the inbox's team view since chats can be transferred to a team; customers are not theirs)
    forbidden = await client.get("/customers", headers={"Accept": "application/json"})
    assert forbidden.status == 403 and (await forbidden.json())["error"] == "您的角色无权执行此操作"


async def test_csv_headers_and_words_follow_the_language(client, team, sessions):
    async with transaction(sessions) as session:
        session.add(Customer(telegram_user_id=81, chat_id=81, first_name="王芳", language="zh", tags=["业主"]))
    await _set(sessions, team.admin.id, language="zh")
    await sign_in(client, "admin@example.com")
    body = (await (await client.get("/customers/export.csv")).read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["编号", "名", "姓", "用户名", "语言", "电话", "标签", "最近活跃时间"]
    assert rows[1][1:5] == ["王芳", "", "", "中文"]
    report = list(csv.reader(io.StringIO((await (await client.get("/reports.csv")).read()).decode("utf-8-sig"))))
    assert report[0] == ["分组", "项目", "数值", "附加信息"]
    assert ["时限", "首次响应达标率（%）", "", ""] in report


async def test_dates_and_times_follow_the_staff_members_locale_and_time_zone(client, team, sessions):
    async with transaction(sessions) as session:
        customer = Customer(telegram_user_id=82, chat_id=82, first_name="Wang", language="zh", tags=[],
                            last_seen_at=datetime(2026, 3, 2, 1, 5, tzinfo=UTC))
        session.add(customer)
    await sign_in(client, "agent@example.com")
    assert "Mar 2, 2026, 09:05" in await (await client.get("/customers")).text()  # TIMEZONE Asia/Shanghai
    await _set(sessions, team.agent.id, language="zh", timezone="Europe/London")
    page = await (await client.get("/customers")).text()
    assert "2026年3月2日 01:05" in page  # their own zone, their own locale
    profile = await (await client.get("/profile")).text()
    assert "时间按英国时间显示" in profile


async def test_the_profile_sets_the_time_zone(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    await client.post("/profile", data={"name": "Alan Agent", "language": "en", "timezone": "Asia/Tokyo",
                                        "csrf_token": token})
    async with sessions() as session:
        assert (await session.get(Staff, team.agent.id)).timezone == "Asia/Tokyo"
    await client.post("/profile", data={"name": "Alan Agent", "language": "en", "timezone": "Mars/Olympus",
                                        "csrf_token": token})
    async with sessions() as session:
        assert (await session.get(Staff, team.agent.id)).timezone is None  # unknown: the company's


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ("Mar 2, 2026, 09:05", "Mon, Mar 2", "¥4,800,000", "¥280.50", "85.5%", "2 h 05 min")),
    ("zh", ("2026年3月2日 09:05", "3月2日周一", "¥4,800,000", "¥280.50", "85.5%", "2 小时 05 分")),
])
def test_locale_formats(lang, expected):
    tr = Translator(lang, ZoneInfo("Asia/Shanghai"))
    moment = datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
    assert (tr.datetime(moment), tr.date(moment, "MMMEd"), tr.money(Decimal("4800000")),
            tr.money(Decimal("280.50")), tr.percent(85.5), tr.minutes(125)) == expected


def test_stored_codes_become_words():
    zh, en = Translator("zh", UTC), Translator("en", UTC)
    assert word(zh, "ticket_status", "waiting_customer") == "等待客户回复"
    assert word(en, "ticket_status", "waiting_customer") == "waiting for the customer"  # not the bot's "for you"
    assert word(zh, "ticket_status", "in_progress") == "处理中"  # the bot's word (dialogs.names)
    assert word(zh, "category", "plumbing") == "水管/给排水"
    assert word(zh, "conversation_mode", "human") == "人工接待中"
    assert word(zh, "role", "service") == "售后"
    assert word(zh, "follow_up_reason", "low_score") == "满意度评分低"  # dialogs.notices
    assert word(zh, "ticket_status", "something_new") == "something_new"
