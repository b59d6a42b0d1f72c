"""The FAQ kept in the console: what an admin writes is what the bot answers, retiring stops it, the CSV
round-trips, bad rows are reported per row, and every refusal reads in the admin's language."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select, update

from storage.db import transaction
from storage.models import AuditLog, FaqEntry, Staff
from tests.dialogs.helpers import FakeCustomer
from tests.staff_console.conftest import sign_in
from tests.staff_console.page_tables import rows


def _upload(data: bytes, csrf: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf_token", csrf)
    form.add_field("file", data, filename="faq.csv", content_type="text/csv")
    return form


async def _entries(sessions) -> list[tuple[str, str, str, list[str], bool]]:
    async with sessions() as session:
        found = (await session.scalars(select(FaqEntry).order_by(FaqEntry.language, FaqEntry.question))).all()
        return [(e.language, e.question, e.answer, list(e.keywords), e.retired_at is not None) for e in found]


async def test_an_entry_written_in_the_console_is_what_the_bot_answers_until_it_is_retired(client, team, sessions):
    csrf = await sign_in(client, "admin@example.com")
    created = await client.post("/faq", data={
        "language": "en", "question": "When is the service desk open?",
        "answer": "Weekdays 9:00-18:00 <closed on holidays>.", "keywords": "opening hours, desk; 营业时间",
        "csrf_token": csrf,
    }, allow_redirects=False)
    assert created.status == 303
    entry_id = int(created.headers["Location"].rsplit("/", 1)[1])
    await client.post("/faq", data={"language": "zh", "question": "营业厅周末开门吗？",
                                    "answer": "周六 10:00-16:00 开门。", "keywords": "营业厅，周末",
                                    "csrf_token": csrf})
    assert await _entries(sessions) == [
        ("en", "When is the service desk open?", "Weekdays 9:00-18:00 <closed on holidays>.",
         ["opening hours", "desk", "营业时间"], False),
        ("zh", "营业厅周末开门吗？", "周六 10:00-16:00 开门。", ["营业厅", "周末"], False)]
    listed = rows(await (await client.get("/faq")).text(), "faq-entries")
    assert [(row.attrs["data-entry"], row.cells[0], row.cells[1]) for row in listed] == [
        (str(entry_id), "English", "When is the service desk open?"),
        (str(entry_id + 1), "Chinese", "营业厅周末开门吗？")]

    ann = FakeCustomer(sessions, user_id=4101)
    replies = await ann.text("when is the service desk open")
    assert replies[0].text == "Weekdays 9:00-18:00 &lt;closed on holidays&gt;."
    li = FakeCustomer(sessions, user_id=4102, language_code="zh")
    assert (await li.text("请问营业厅周末开门吗"))[0].text == "周六 10:00-16:00 开门。"

    edited = await client.post(f"/faq/{entry_id}", data={
        "language": "en", "question": "When is the service desk open?",
        "answer": "Weekdays 9:00-18:00, Saturdays 10:00-16:00.", "keywords": "opening hours", "csrf_token": csrf,
    }, allow_redirects=False)
    assert edited.status == 303
    assert (await ann.text("when is the service desk open"))[0].text == "Weekdays 9:00-18:00, Saturdays 10:00-16:00."

    retired = await client.post(f"/faq/{entry_id}/retire", data={"retired": "1", "csrf_token": csrf},
                                allow_redirects=False)
    assert retired.status == 303
    after = await ann.text("when is the service desk open")
    assert "Weekdays" not in after[0].text
    assert [row.cells[1] for row in rows(await (await client.get("/faq?state=retired")).text(), "faq-entries")] \
        == ["When is the service desk open?"]
    active = rows(await (await client.get("/faq")).text(), "faq-entries")
    assert [row.cells[1] for row in active] == ["营业厅周末开门吗？"]

    await client.post(f"/faq/{entry_id}/retire", data={"retired": "0", "csrf_token": csrf})
    assert (await ann.text("when is the service desk open"))[0].text == "Weekdays 9:00-18:00, Saturdays 10:00-16:00."
    async with sessions() as session:
        actions = (await session.scalars(select(AuditLog.action).where(AuditLog.target_type == "faq")
                                         .order_by(AuditLog.id))).all()
    assert actions == ["faq_create", "faq_create", "faq_edit", "faq_retire", "faq_restore"]


async def test_the_forms_refuse_with_a_clear_message_in_the_admins_language(client, team, sessions):
    csrf = await sign_in(client, "admin@example.com")
    empty = await client.post("/faq", data={"language": "en", "question": "Parking?", "answer": "  ",
                                            "csrf_token": csrf})
    assert empty.status == 400 and "Not saved: the answer is empty." in await empty.text()
    await client.post("/faq", data={"language": "en", "question": "Parking?", "answer": "B2, 300 a month.",
                                    "csrf_token": csrf})
    twice = await client.post("/faq", data={"language": "en", "question": "parking?", "answer": "Other.",
                                            "csrf_token": csrf})
    assert twice.status == 400 and "this question is already in the FAQ in this language" in await twice.text()
    async with transaction(sessions) as session:
        await session.execute(update(Staff).where(Staff.id == team.admin.id).values(language="zh"))
    wrong = await client.post("/faq", data={"language": "fr", "question": "Q", "answer": "A", "csrf_token": csrf})
    page = await wrong.text()
    assert wrong.status == 400 and "未保存：未知语言 fr。" in page
    long = await client.post("/faq", data={"language": "en", "question": "Q" * 501, "answer": "A",
                                           "csrf_token": csrf})
    assert long.status == 400 and "问题超过 500 个字符" in await long.text()
    assert len(await _entries(sessions)) == 1


async def test_the_csv_round_trips_and_bad_rows_are_reported_by_line(client, team, sessions):
    csrf = await sign_in(client, "admin@example.com")
    for language, question, answer, keywords in (
            ("en", "What does the deposit cover?", "- one month's rent\n- damages", "deposit; 押金"),
            ("en", "=Is this a formula?", "+No, it is text.", ""),
            ("zh", "押金包括什么？", "一个月租金，以及损坏赔偿。", "押金")):
        await client.post("/faq", data={"language": language, "question": question, "answer": answer,
                                        "keywords": keywords, "csrf_token": csrf})
    async with transaction(sessions) as session:
        entry = await session.scalar(select(FaqEntry).where(FaqEntry.language == "zh"))
        entry_id = entry.id
    await client.post(f"/faq/{entry_id}/retire", data={"retired": "1", "csrf_token": csrf})
    before = await _entries(sessions)

    exported = await client.get("/faq/export.csv")
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    data = await exported.read()
    assert data.decode("utf-8-sig").splitlines()[0] == "language,question,answer,keywords,retired"
    assert "'=Is this a formula?" in data.decode("utf-8-sig")  # protected against spreadsheet formulas

    again = await client.post("/faq/import", data=_upload(data, csrf))
    report = await again.text()
    assert again.status == 200 and "0 inserted, 0 updated, 3 unchanged, 0 rejected, 0 warnings" in report
    async with transaction(sessions) as session:
        for row in (await session.scalars(select(FaqEntry))).all():
            await session.delete(row)
    fresh = await client.post("/faq/import", data=_upload(data, csrf))
    assert "3 inserted, 0 updated, 0 unchanged, 0 rejected, 0 warnings" in await fresh.text()
    assert await _entries(sessions) == before

    bad = ("language,question,answer,keywords,retired\n"
           "en,What does the deposit cover?,One month's rent.,deposit,no\n"
           "fr,Une question?,Une réponse.,,\n"
           "en,,An answer without a question.,,\n"
           "zh,停车费多少？,,,\n"
           "en,Pets?,Ask the landlord.,pets,maybe\n"
           "zh,停车场在哪里？,地下二层。,停车,no\n").encode()
    imported = await client.post("/faq/import", data=_upload(bad, csrf))
    page = await imported.text()
    assert imported.status == 200 and "1 inserted, 1 updated, 0 unchanged, 4 rejected, 0 warnings" in page
    assert [row.cells for row in rows(page, "rejected")] == [
        ["3", "language is 'fr'; expected one of en, zh"],
        ["4", "the question is empty"],
        ["5", "the answer is empty"],
        ["6", "retired is 'maybe'; expected yes/no, true/false, 1/0 or 是/否"]]
    answers = {question: answer for _, question, answer, _, _ in await _entries(sessions)}
    assert answers["What does the deposit cover?"] == "One month's rent."
    assert answers["停车场在哪里？"] == "地下二层。"

    not_csv = await client.post("/faq/import", data=_upload(b"\xff\xfe\x00", csrf))
    assert not_csv.status == 400 and "Nothing imported: not UTF-8 text" in await not_csv.text()
