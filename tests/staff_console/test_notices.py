"""Notices to owners in the console: compose (both languages, audience, preview count, time, urgent), the list,
one notice with its recipients' statuses, cancelling; refusals in the staff member's language; roles."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from storage.clock import FrozenClock
from storage.db import transaction
from storage.models import AuditLog, Broadcast, Building, CustomerUnit, OutboxMessage, Project, Staff
from storage.services import broadcasts
from tests import factories
from tests.staff_console.conftest import sign_in
from tests.workplace import workplace_for

TEN_AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.children, self.text_parts = tag, attrs, [], []

    @property
    def text(self) -> str:
        return " ".join(" ".join([*self.text_parts, *(child.text for child in self.children)]).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k.replace("_", "-")) == v
                                                          for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]


class Page(HTMLParser):
    """Just enough of a DOM to check a page's structure (tables, rows, fields)."""

    VOID = {"input", "meta", "link", "br", "img", "hr"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.root = Element("root", {})
        self._stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {key: value or "" for key, value in attrs})
        self._stack[-1].children.append(element)
        if tag not in self.VOID:
            self._stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        self._stack[-1].text_parts.append(data)


@pytest.fixture
def ten_am(frozen_clock: FrozenClock) -> FrozenClock:
    frozen_clock.set(TEN_AM)
    return frozen_clock


async def _owners(sessions) -> dict[str, int]:
    """Sunny Garden: Ann (en) in building 1, Bo (zh) in building 2, Cy (blocked) in building 2; Lake View: Di."""
    async with transaction(sessions) as session:
        ids = {}
        for name, language, project, building, unit_no in (("ann", "en", "Sunny Garden", "1", "101"),
                                                           ("bo", "zh", "Sunny Garden", "2", "201"),
                                                           ("cy", "en", "Sunny Garden", "2", "202"),
                                                           ("di", "en", "Lake View", "1", "101")):
            person = await factories.customer(session, language=language)
            person.first_name = name.title()
            if name == "cy":
                person.unreachable_at = TEN_AM
            home = await factories.unit(session, project=project, building=building, unit_no=unit_no)
            session.add(CustomerUnit(customer_id=person.id, unit_id=home.id))
            ids[name] = person.id
        await session.flush()
        ids["sunny"] = await session.scalar(select(Project.id).where(Project.name == "Sunny Garden"))
        ids["b2"] = await session.scalar(select(Building.id).join(Project).where(
            Project.name == "Sunny Garden", Building.name == "2"))
    return ids


async def test_service_staff_compose_preview_schedule_and_follow_a_notice(client, team, sessions, ten_am):
    ids = await _owners(sessions)
    token = await sign_in(client, "service@example.com")
    form = Page(await (await client.get("/notices/new")).text()).root
    projects = {o.text: o.attrs["value"] for o in form.find("select", name="project").find_all("option")}
    assert set(projects) == {"Lake View", "Sunny Garden"} and projects["Sunny Garden"] == str(ids["sunny"])
    assert any(o.attrs["value"] == str(ids["b2"]) for o in form.find("select", name="building").find_all("option"))

    fields = {"csrf_token": token, "text_en": "Water is off 10:00-12:00 <today>.", "text_zh": "今天10:00-12:00停水。",
              "project": str(ids["sunny"]), "send_at": ""}
    preview = await client.post("/notices", data={**fields, "action": "preview"})
    assert preview.status == 200
    page = Page(await preview.text()).root
    count = page.find("p", id="preview-count")
    assert (count.attrs["data-owners"], count.attrs["data-reachable"]) == ("3", "2")
    assert page.find("textarea", name="text_zh").text == "今天10:00-12:00停水。", "the draft is kept"
    async with sessions() as session:
        assert (await session.scalars(select(Broadcast))).all() == [], "a preview changes nothing"

    created = await client.post("/notices", data={**fields, "action": "schedule", "urgent": "1"},
                                allow_redirects=False)
    assert created.status == 303
    notice_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with sessions() as session:
        notice = await session.get(Broadcast, notice_id)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "broadcast_schedule"))
    assert (notice.audience, notice.urgent, notice.estimated, notice.created_by) == (
        {"project": [ids["sunny"]]}, True, 3, team.service.id)
    assert audit is not None and audit.target_id == notice_id

    await broadcasts.tick(workplace_for(sessions))
    detail = Page(await (await client.get(f"/notices/{notice_id}")).text()).root
    counts = {cell.attrs["data-status"]: cell.text for cell in detail.find("table", id="counts").find_all("td")}
    assert counts == {"queued": "2", "sent": "0", "failed": "0", "blocked": "1", "cancelled": "0"}
    rows = detail.find("table", id="recipients").find("tbody").find_all("tr")
    assert {(r.attrs["data-customer"], r.attrs["data-status"]) for r in rows} == {
        (str(ids["ann"]), "queued"), (str(ids["bo"]), "queued"), (str(ids["cy"]), "blocked")}
    assert detail.find("dd", data_field="status").attrs["data-value"] == "sending"
    assert "Water is off 10:00-12:00 <today>." in detail.find("p", lang="en").text
    assert detail.find_all("form", id="cancel")
    blocked = Page(await (await client.get(f"/notices/{notice_id}?status=blocked")).text()).root
    assert [r.attrs["data-customer"] for r in blocked.find("table", id="recipients").find("tbody").find_all("tr")] \
        == [str(ids["cy"])]

    beyond = await client.get(f"/notices/{notice_id}?page=9223372036854775807&status=nonsense")
    assert beyond.status == 200
    assert Page(await beyond.text()).root.find("table", id="recipients").find("td").text == "Nobody yet."

    listed = Page(await (await client.get("/notices")).text()).root
    row = listed.find("tr", data_notice=str(notice_id))
    assert row.attrs["data-status"] == "sending" and "Sunny Garden" in row.text
    assert row.find("td", **{"class": "sent"}).text == "0 / 3"


async def test_cancelling_a_notice_stops_the_rest(client, team, sessions, ten_am):
    ids = await _owners(sessions)
    token = await sign_in(client, "admin@example.com")
    created = await client.post("/notices", data={
        "csrf_token": token, "action": "schedule", "text_en": "Lift check", "text_zh": "电梯检修",
        "building": str(ids["b2"])}, allow_redirects=False)
    notice_id = int(created.headers["Location"].rsplit("/", 1)[1])
    await broadcasts.tick(workplace_for(sessions))
    response = await client.post(f"/notices/{notice_id}/cancel", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    detail = Page(await (await client.get(f"/notices/{notice_id}")).text()).root
    counts = {cell.attrs["data-status"]: cell.text for cell in detail.find("table", id="counts").find_all("td")}
    assert counts == {"queued": "0", "sent": "0", "failed": "0", "blocked": "1", "cancelled": "1"}
    assert detail.find("dd", data_field="status").attrs["data-value"] == "cancelled"
    assert not detail.find_all("form", id="cancel")
    again = await client.post(f"/notices/{notice_id}/cancel", data={"csrf_token": token})
    assert "This notice can no longer be cancelled".lower() in (await again.text()).lower()
    assert (await client.post("/notices/999999/cancel", data={"csrf_token": token})).status == 404
    async with sessions() as session:
        statuses = set((await session.scalars(select(OutboxMessage.status).where(
            OutboxMessage.broadcast_id == notice_id))).all())
    assert statuses == {"failed", "cancelled"}


async def test_refusals_keep_the_draft_and_speak_the_staff_members_language(client, team, sessions, ten_am):
    ids = await _owners(sessions)
    async with transaction(sessions) as session:
        (await session.get(Staff, team.admin.id)).language = "zh"
    token = await sign_in(client, "admin@example.com")
    base = {"csrf_token": token, "action": "schedule", "text_en": "Gas check <b>tomorrow</b>", "text_zh": ""}
    missing = await client.post("/notices", data={**base, "project": str(ids["sunny"])})
    assert missing.status == 400
    page = Page(await missing.text()).root
    assert page.find("p", role="alert").text == "请填写中文通知内容"
    assert page.find("textarea", name="text_en").text == "Gas check <b>tomorrow</b>"
    assert "<b>tomorrow</b>" not in await missing.text(), "staff text is escaped"
    nobody = await client.post("/notices", data={**base, "text_zh": "燃气检查"})
    assert Page(await nobody.text()).root.find("p", role="alert").text == "请选择通知对象：项目、楼栋、标签组或交易进度"
    past = await client.post("/notices", data={**base, "text_zh": "燃气检查", "project": str(ids["sunny"]),
                                               "send_at": "2026-03-01T09:00"})
    assert Page(await past.text()).root.find("p", role="alert").text == "发送时间已经过去"
    bad_time = await client.post("/notices", data={**base, "text_zh": "燃气检查", "project": str(ids["sunny"]),
                                                   "send_at": "tomorrow"})
    assert Page(await bad_time.text()).root.find("p", role="alert").text == "发送时间格式应为 2026-03-02 09:30"
    async with sessions() as session:
        assert (await session.scalars(select(Broadcast))).all() == []

    # A time in the staff member's zone (Asia/Shanghai): 18:30 local is 10:30 UTC.
    later = await client.post("/notices", data={**base, "text_zh": "燃气检查", "project": str(ids["sunny"]),
                                                "send_at": "2026-03-02T18:30"}, allow_redirects=False)
    assert later.status == 303
    async with sessions() as session:
        notice = (await session.scalars(select(Broadcast))).one()
    assert notice.scheduled_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC) and notice.status == "scheduled"
    listed = Page(await (await client.get("/notices")).text()).root
    assert listed.find("h1").text == "业主通知"
    assert listed.find("tr", data_notice=str(notice.id)).find_all("td")[3].text == "已计划"


async def test_agents_cannot_reach_notices(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    assert (await client.get("/notices", allow_redirects=False)).status == 403
    assert (await client.get("/notices/new", allow_redirects=False)).status == 403
    response = await client.post("/notices", data={"csrf_token": token, "action": "preview"}, allow_redirects=False)
    assert response.status == 403
    nav = Page(await (await client.get("/inbox")).text()).root
    assert all(a.attrs.get("href") != "/notices" for a in nav.find_all("a"))
