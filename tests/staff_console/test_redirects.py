"""Open redirect after sign-in (issue 14, item 8): `next` leads only to the console's own pages, however it is
disguised (control characters browsers drop, backslashes they read as slashes, schemes, hosts)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from staff_console.context import local_path
from tests.staff_console.conftest import PASSWORD, csrf_of, sign_in

HOSTILE = [
    "/\t/evil.example",  # /login?next=/%09/evil.example: the browser drops the tab and goes to //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "/\x85/evil.example",
    "\t//evil.example",
    " //evil.example",
    "//evil.example",
    "///evil.example",
    "//evil.example/inbox",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\t\\evil.example",
    "http://evil.example",
    "https:evil.example",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "",
]
OWN = [
    ("/inbox", "/inbox"),
    ("/customers?q=wang&tag=vip", "/customers?q=wang&tag=vip"),
    ("/conversations/5#reply", "/conversations/5#reply"),
    ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # a path on our site (the slashes stay encoded)
    ("/customers?q=王", "/customers?q=%E7%8E%8B"),
]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_fall_back(target):
    assert local_path(target) == "/"


@pytest.mark.parametrize(("target", "expected"), OWN)
def test_own_pages_are_kept(target, expected):
    assert local_path(target) == expected


def _same_site(location: str) -> bool:
    """How a browser reads the Location: control characters dropped, backslashes as slashes."""
    seen = "".join(ch for ch in location if ord(ch) >= 0x20 and ord(ch) != 0x7F).replace("\\", "/").strip()
    parts = urlsplit(seen)
    return seen.startswith("/") and not seen.startswith("//") and not parts.scheme and not parts.netloc


@pytest.mark.parametrize("target", HOSTILE)
async def test_sign_in_never_leaves_the_site(client, team, target):
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                 "csrf_token": token, "next": target}, allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/"
    already = await client.get(f"/login?next={quote(target, safe='')}", allow_redirects=False)
    assert already.status == 302 and already.headers["Location"] == "/"
    assert _same_site(already.headers["Location"])


async def test_the_reported_redirect(client, team):
    await sign_in(client, "agent@example.com")
    response = await client.get("/login?next=/%09/evil.example", allow_redirects=False)
    assert response.status == 302 and _same_site(response.headers["Location"])
    assert response.headers["Location"] == "/"


async def test_the_login_form_carries_a_safe_next(client):
    page = await (await client.get("/login?next=/%09/evil.example")).text()
    assert 'value="/"' in page and "evil.example" not in page
