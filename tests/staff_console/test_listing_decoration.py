"""Issue 15: agents set "partly furnished" and the decoration level on the listing form; bad values are refused
with the reason, and the form shows what is stored."""

from __future__ import annotations

import re

from staff_console.app import create_app  # noqa: F401  (the fixtures build the app)
from tests.staff_console.conftest import sign_in
from tests.staff_console.test_admin_pages import LISTING_FORM
from tests.staff_console.test_listings import _edit, _listing


def _selected(page: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert select is not None, name
    chosen = re.findall(r'<option value="([^"]*)" selected>', select.group(1))
    return chosen[0] if chosen else None


async def test_partly_furnished_and_decoration_round_trip(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    created = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-D1", "furnished": "partial",
                                                        "decoration": "fine", "csrf_token": token},
                                allow_redirects=False)
    assert created.status == 303, await created.text()
    listing_id = int(created.headers["Location"].rsplit("/", 1)[1])
    listing = await _listing(sessions, listing_id)
    assert (listing.furnished, listing.partly_furnished, listing.decoration) == (True, True, "fine")

    page = await (await client.get(f"/listings/{listing_id}")).text()
    assert (_selected(page, "furnished"), _selected(page, "decoration")) == ("partial", "fine")
    options = re.search(r'<select name="decoration">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', options) == ["", "bare", "basic", "fine"]

    await _edit(client, token, listing_id, furnished="yes", decoration="")
    listing = await _listing(sessions, listing_id)
    assert (listing.furnished, listing.partly_furnished, listing.decoration) == (True, None, None)


async def test_a_bad_decoration_is_refused_with_its_reason(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    refused = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-D2", "decoration": "gold",
                                                        "csrf_token": token}, allow_redirects=False)
    assert refused.status == 400
    assert "decoration is &#39;gold&#39;; expected fine/basic/bare or 精装/简装/毛坯" in await refused.text()


def test_a_leads_need_shows_decoration_and_partly_furnished_in_both_languages():
    from zoneinfo import ZoneInfo

    from staff_console.cards import need_lines
    from staff_console.i18n import Translator

    criteria = {"deal_type": "rent", "furnished": True, "partly_furnished": True, "decoration": "bare",
                "deal_type_inferred": True}
    english = need_lines(Translator("en", ZoneInfo("Asia/Shanghai")), criteria, {})
    chinese = need_lines(Translator("zh", ZoneInfo("Asia/Shanghai")), criteria, {})
    assert english == ["furnished: yes", "partly furnished: yes", "decoration: bare shell"]
    assert chinese[1:] == ["部分家具：是", "装修：毛坯"]
