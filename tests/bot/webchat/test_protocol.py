"""The web chat's socket protocol: reconnecting gets exactly what was missed, bad frames get an error frame and the
connection lives on, one visitor never sees another's conversation or uploads, limits answer clearly."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib

import aiohttp
import pytest
from sqlalchemy import select

from dialogs.replies import Say
from storage.db import transaction
from storage.events import create_event_bus
from storage.models import PRIORITY_AGENT, Customer, Message, OutboxMessage
from storage.outbox import queue_to_customer
from storage.repositories import conversations
from storage.services import handoff
from storage.services.staff_accounts import create_staff
from storage.unit_of_work import Actor
from tests import factories
from tests.bot.webchat.conftest import ALLOWED, buttons
from tests.dbutil import REDIS_URL
from tests.staff_console.conftest import PASSWORD, sign_in
from tests.workplace import workplace_for


def png(width: int = 2, height: int = 2) -> bytes:
    """A real little PNG (the upload checks content, not names)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


async def customer_of(sessions, visitor) -> Customer:
    async with sessions() as session:
        return await session.scalar(select(Customer).where(Customer.web_visitor_id == visitor.welcome["visitor"]))


async def queue_while_away(chat, customer_id: int, *texts: str) -> None:
    """Staff-side messages (as the console queues them), delivered by the web chat's own loop."""
    async with chat.workplace.open() as work:
        customer = await work.session.get(Customer, customer_id)
        conversation = await conversations.current(work.session, customer)
        for text in texts:
            await queue_to_customer(work.session, conversation, customer, Say(text).to_payload(), text=text,
                                    sender="system", priority=PRIORITY_AGENT)


async def delivered(sessions, count: int) -> None:
    for _ in range(300):
        async with sessions() as session:
            pending = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "pending"))
            sent = len((await session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "sent"))).all())
        if pending is None and sent >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("rows were not delivered")


async def quiet(visitor, seconds: float = 0.4) -> list[dict]:
    """Frames that still arrive within `seconds` (none, when nothing is owed)."""
    extra = []
    with pytest.raises(TimeoutError):
        while True:
            extra.append(await visitor.receive(timeout=seconds))
    return extra


async def test_a_first_visit_gets_the_greeting_and_a_reload_the_whole_transcript(chat, sessions) -> None:
    ann = chat.visitor()
    welcome = await ann.connect()
    assert welcome["items"] == [] and welcome["token"].startswith(welcome["visitor"] + ".")
    greeting = await ann.until_ack(await ann.send({"type": "start"}))
    assert greeting[0]["reply"]["html"].startswith("Hello! I am the Homedesk assistant")
    assert "Talk to a person" in buttons(greeting[0])
    reply = await ann.say("<script>alert(1)</script> hello?")
    await ann.close()

    again = await ann.connect(last_seen=0)  # a reload: the page shows nothing yet
    kinds = [(item["type"], item.get("text")) for item in again["items"]]
    assert kinds[0] == ("message", None) and ("mine", "<script>alert(1)</script> hello?") in kinds
    assert [item["id"] for item in again["items"] if item["type"] == "message"] == [greeting[0]["id"], reply[0]["id"]]
    assert again["visitor"] == welcome["visitor"]


async def test_reconnect_with_last_seen_gets_exactly_the_missed_messages(chat, sessions) -> None:
    ann = chat.visitor()
    await ann.connect()
    seen = await ann.until_ack(await ann.send({"type": "start"}))
    last_seen = seen[-1]["id"]
    customer = await customer_of(sessions, ann)
    await ann.close()

    await queue_while_away(chat, customer.id, "first while away", "second while away", "third while away")
    await delivered(sessions, 4)  # the visitor is gone: the rows wait as their mailbox

    back = await ann.connect(last_seen=last_seen)
    missed = [item for item in back["items"] if item["type"] == "message"]
    assert [m["reply"]["html"] for m in missed] == ["first while away", "second while away", "third while away"]
    assert all(m["id"] > last_seen for m in missed) and len({m["id"] for m in missed}) == 3
    assert all(item["type"] == "message" for item in back["items"])  # nothing already seen, nothing twice
    await ann.send({"type": "ping", "last_seen": missed[-1]["id"]})
    before_pong = []
    while (frame := await ann.receive())["type"] != "pong":
        before_pong.append(frame)
    assert before_pong == [] and await quiet(ann) == []

    up_to_date = chat.visitor(token=ann.token)
    assert (await up_to_date.connect(last_seen=missed[-1]["id"]))["items"] == []
    await up_to_date.close()


async def test_a_live_message_lost_on_the_way_comes_with_the_next_ping(chat, sessions) -> None:
    ann = chat.visitor()
    await ann.connect()
    seen = await ann.until_ack(await ann.send({"type": "start"}))
    customer = await customer_of(sessions, ann)
    chat.channel.hub.remove(next(iter(chat.channel.hub.connections)))  # this socket stops getting live events
    await queue_while_away(chat, customer.id, "sent while the socket was deaf")
    await delivered(sessions, 2)
    await ann.send({"type": "ping", "last_seen": seen[-1]["id"]})
    frame = await ann.next("message")
    assert frame["reply"]["html"] == "sent while the socket was deaf"


@pytest.mark.parametrize("raw, code", [
    ("{not json", "bad_frame"),
    (json.dumps({"type": "shout", "text": "hi"}), "bad_frame"),
    (json.dumps({"type": "text", "text": "x" * 5000}), "too_large"),
    (json.dumps({"type": "text", "text": "y" * 20_000}), "too_large"),  # over the frame limit itself
    (json.dumps({"type": "press", "token": "menu:main", "message": "1"}), "bad_frame"),
    (json.dumps({"type": "press", "token": "need:" + "z" * 80, "message": 1}), "forged"),
    (json.dumps({"type": "location", "lat": 91, "lon": 0}), "bad_frame"),
    (json.dumps({"type": "phone", "phone": "call me maybe"}), "bad_frame"),
    (json.dumps({"type": "photo", "upload": "../../etc/passwd"}), "forged"),
    (json.dumps({"type": "hello", "token": None}), "bad_frame"),  # only the first frame is a hello
])
async def test_bad_frames_get_an_error_frame_and_the_connection_survives(chat, raw, code) -> None:
    ann = chat.visitor()
    await ann.connect()
    await ann.ws.send_str(raw)
    error = await ann.next("error")
    assert error["code"] == code and error["text"]
    reply = await ann.say("/help")  # still talking
    assert "Here is what I can do" in reply[0]["reply"]["html"]


async def test_a_binary_frame_is_refused_with_an_error(chat) -> None:
    ann = chat.visitor()
    await ann.connect()
    await ann.ws.send_bytes(b"\x00\x01")
    assert (await ann.next("error"))["code"] == "bad_frame"
    assert (await ann.say("/menu"))[0]["reply"]["html"] == "Main menu"


async def test_buttons_are_only_those_the_visitor_was_shown(chat, sessions) -> None:
    ann, bob = chat.visitor(), chat.visitor()
    await ann.connect()
    await bob.connect()
    ann_menu = (await ann.until_ack(await ann.send({"type": "start"})))[-1]
    bob_menu = (await bob.until_ack(await bob.send({"type": "start"})))[-1]
    # a token that exists but was not on this message, and another visitor's message
    await ann.send({"type": "press", "token": "menu:lang:zh", "message": ann_menu["id"]})
    assert (await ann.next("error"))["code"] == "forged"
    await ann.send({"type": "press", "token": buttons(bob_menu)["Help"], "message": bob_menu["id"]})
    assert (await ann.next("error"))["code"] == "forged"
    shown = await ann.press(ann_menu["id"], buttons(ann_menu)["Help"])
    assert "Here is what I can do" in shown[0]["reply"]["html"]


async def test_an_edit_replaces_the_pressed_message_in_place(chat) -> None:
    ann = chat.visitor()
    await ann.connect()
    menu = (await ann.until_ack(await ann.send({"type": "start"})))[-1]
    edited = await ann.press(menu["id"], buttons(menu)["Language"])
    assert edited[0]["edit"] == menu["id"]
    assert buttons(edited[0]) == {"English": "menu:lang:en", "简体中文": "menu:lang:zh"}
    chinese = await ann.press(menu["id"], "menu:lang:zh")  # the edited message's buttons count as the message's
    assert chinese[0]["edit"] == menu["id"] and "语言已设置为简体中文" in chinese[0]["reply"]["html"]
    await ann.close()
    assert (await ann.connect(last_seen=0))["lang"] == "zh"  # the page follows the language chosen in the chat


async def test_a_forged_token_starts_a_new_visitor_and_shows_nothing_of_the_old_one(chat, sessions) -> None:
    ann = chat.visitor()
    welcome = await ann.connect()
    await ann.until_ack(await ann.send({"type": "start"}))
    await ann.say("my secret flat hunt")
    forged = welcome["visitor"] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    mallory = chat.visitor()
    mallory.ws = await chat.client.ws_connect("/chat/ws", headers={"Origin": chat.origin})
    await mallory.send({"type": "hello", "token": forged, "last_seen": 0})
    error = await mallory.next("error")
    fresh = await mallory.next("welcome")
    assert error["code"] == "bad_token"
    assert fresh["visitor"] != welcome["visitor"] and fresh["items"] == []
    await mallory.say("hello")
    frames = await quiet(ann)
    assert all(f["type"] != "message" for f in frames)  # nothing of Mallory's reaches Ann, and vice versa
    assert all("secret" not in json.dumps(f) for f in mallory.frames)


async def test_uploads_are_images_only_and_only_their_visitor_reads_them(chat, sessions) -> None:
    ann, bob = chat.visitor(), chat.visitor()
    await ann.connect()
    await bob.connect()
    headers = {"Origin": chat.origin, "X-Visitor-Token": ann.token}
    not_image = await chat.client.post("/chat/upload", data=b"GIF89 but not really <script>", headers=headers)
    assert not_image.status == 415
    too_big = await chat.client.post("/chat/upload", data=png() + b"\0" * (11 * 1024 * 1024), headers=headers)
    assert too_big.status == 413
    no_token = await chat.client.post("/chat/upload", data=png(), headers={"Origin": chat.origin})
    assert no_token.status == 401
    elsewhere = await chat.client.post("/chat/upload", data=png(), headers={**headers, "Origin": "http://evil.test"})
    assert elsewhere.status == 403
    uploaded = await chat.client.post("/chat/upload", data=png(), headers=headers)
    assert uploaded.status == 200
    name = (await uploaded.json())["upload"]

    await bob.send({"type": "photo", "upload": name})  # Bob cannot send Ann's photo as his
    assert (await bob.next("error"))["code"] == "forged"
    await ann.until_ack(await ann.send({"type": "photo", "upload": name, "caption": "the leak"}))

    await ann.close()
    transcript = (await ann.connect(last_seen=0))["items"]
    mine = next(item for item in transcript if item["type"] == "mine")
    assert mine["text"] == "the leak" and mine["photos"][0]["private"]
    src = mine["photos"][0]["src"]
    assert (await chat.client.get(src, headers={"X-Visitor-Token": ann.token})).status == 200
    assert (await chat.client.get(src, headers={"X-Visitor-Token": bob.token})).status == 403
    assert (await chat.client.get(src)).status == 403
    assert (await chat.client.get(src[:-3] + "abc", headers={"X-Visitor-Token": ann.token})).status == 404
    async with sessions() as session:
        message = await session.scalar(select(Message).where(Message.kind == "photo"))
    assert message.payload["photo_file_ids"] == [f"web:{ann.welcome['visitor']}/{name}"]

    # Staff see it in the console (signed in), nobody else does.
    staff_photo = f"/conversations/{message.conversation_id}/photos/{message.id}/0"
    anonymous = await chat.client.get(staff_photo, allow_redirects=False)
    assert anonymous.status in (302, 401)
    async with transaction(sessions) as session:
        await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)
    await sign_in(chat.client, "agent@example.com")
    shown = await chat.client.get(staff_photo)
    assert shown.status == 200 and shown.content_type == "image/png" and await shown.read() == png()


async def test_the_rate_limit_answers_clearly_and_keeps_the_connection(make_chat) -> None:
    chat = await make_chat(webchat_visitor_per_minute=3)
    ann = chat.visitor()
    await ann.connect()
    for n in range(3):
        await ann.say(f"message {n}")
    await ann.send({"type": "text", "text": "one too many"})
    error = await ann.next("error")
    assert error["code"] == "rate_limited" and "too fast" in error["text"]
    await ann.send({"type": "ping", "last_seen": ann.last_seen})
    await ann.next("pong")  # still connected


async def test_the_rate_limit_speaks_the_visitors_language(make_chat) -> None:
    chat = await make_chat(webchat_visitor_per_minute=1)
    li = chat.visitor(lang="zh")
    await li.connect()
    await li.say("你好")
    await li.send({"type": "text", "text": "再来一条"})
    assert (await li.next("error"))["text"] == "您发送消息太快了，请稍等几秒再试。"


async def test_only_our_page_and_allowed_sites_may_open_the_socket(chat) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await chat.client.ws_connect("/chat/ws", headers={"Origin": "http://evil.test"})
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await chat.client.ws_connect("/chat/ws")  # no Origin at all
    embedded = chat.visitor(origin=ALLOWED)
    assert (await embedded.connect())["type"] == "welcome"


async def test_the_page_speaks_the_browsers_language_and_may_be_framed_only_by_allowed_sites(chat) -> None:
    page = await chat.client.get("/chat", headers={"Accept-Language": "fr-FR,zh-CN;q=0.8,en;q=0.5"})
    body = await page.text()
    assert page.status == 200 and '<html lang="zh-Hans">' in body and "在线咨询" in body
    csp = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {ALLOWED}" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in page.headers and "set-cookie" not in {k.lower() for k in page.headers}
    english = await chat.client.get("/chat?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in await english.text()
    widget = await chat.client.get("/widget.js")
    assert widget.status == 200 and ALLOWED in await widget.text()
    assert (await chat.client.get("/chat/static/chat.js")).status == 200
    assert (await chat.client.get("/chat/static/../app.py")).status == 404


async def test_a_person_takes_a_web_conversation_and_replies_live(chat, sessions) -> None:
    async with transaction(sessions) as session:
        agent = await factories.staff(session, name="Alan Agent", role="agent", team=None)
    ann = chat.visitor()
    await ann.connect()
    menu = (await ann.until_ack(await ann.send({"type": "start"})))[-1]
    queued = await ann.press(menu["id"], buttons(menu)["Talk to a person"])
    assert queued[0]["reply"]["choices"]  # in line, with a cancel button
    customer = await customer_of(sessions, ann)
    async with sessions() as session:
        conversation = await conversations.current(session, customer)
    assert conversation.mode == "waiting"

    async with chat.workplace.open(Actor.staff(agent.id)) as work:
        await handoff.take_over(work, conversation.id)
    joined = await ann.next("message")
    assert joined["from"] == "system" and "Alan Agent" in joined["reply"]["html"]
    async with chat.workplace.open(Actor.staff(agent.id)) as work:
        await handoff.agent_reply(work, conversation.id, Say("Hi Ann, how can I help?").to_payload(), text="Hi")
    answer = await ann.next("message")
    assert (answer["from"], answer["name"], answer["reply"]["html"]) == ("agent", "Alan Agent",
                                                                         "Hi Ann, how can I help?")
    silent = await ann.say("I want to see a flat")
    assert silent == []  # the bot is silent while a person owns the conversation
    async with sessions() as session:
        statuses = (await session.scalars(select(Message.delivery_status).where(Message.sender == "agent"))).all()
    assert statuses == ["sent"]


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set: no Redis to run two instances over")
async def test_two_instances_deliver_through_the_redis_bus(make_chat, sessions) -> None:
    """The visitor's socket is on one instance; the agent's reply is committed on another."""
    buses = [create_event_bus(REDIS_URL), create_event_bus(REDIS_URL)]
    for bus in buses:
        await bus.start()
    try:
        front = await make_chat()
        await front.channel.stop()  # move it to its own Redis bus
        front.workplace.bus = buses[0]
        await front.channel.start(buses[0])
        back = workplace_for(sessions, buses[1], front.settings)
        from bot.webchat import WebChatChannel

        back_channel = WebChatChannel(front.settings, back)  # the other instance (no socket of Ann's there)
        await back_channel.start(buses[1])
        async with transaction(sessions) as session:
            agent = await factories.staff(session, name="Bea Back", role="agent", team=None)
        ann = front.visitor()
        await ann.connect()
        menu = (await ann.until_ack(await ann.send({"type": "start"})))[-1]
        await ann.press(menu["id"], buttons(menu)["Talk to a person"])
        customer = await customer_of(sessions, ann)
        async with sessions() as session:
            conversation = await conversations.current(session, customer)

        async with back.open(Actor.staff(agent.id)) as work:
            await handoff.take_over(work, conversation.id)
            await handoff.agent_reply(work, conversation.id, Say("from the other instance").to_payload(), text="x")
            taken_here = []
            work.after_commit.append(lambda: taken_here.append(len(back_channel.hub.connections)))
        assert taken_here == [0]  # the other instance holds no socket: only the Redis bus can bring it to Ann
        joined = await ann.next("message")
        answer = await ann.next("message")
        assert "Bea Back" in joined["reply"]["html"] and answer["reply"]["html"] == "from the other instance"
        await back_channel.stop()
    finally:
        for bus in buses:
            await bus.close()


async def test_notes_stay_with_staff_a_transfer_changes_who_answers_and_replies_wait_for_the_visitor(
        chat, sessions) -> None:
    async with transaction(sessions) as session:
        alan = await factories.staff(session, name="Alan Agent", role="agent", team=None)
        bea = await factories.staff(session, name="Bea Agent", role="agent", team=None)
    ann = chat.visitor()
    await ann.connect()
    menu = (await ann.until_ack(await ann.send({"type": "start"})))[-1]
    await ann.press(menu["id"], buttons(menu)["Talk to a person"])
    async with sessions() as session:
        conversation_id = (await conversations.current(session, await customer_of(sessions, ann))).id
    async with chat.workplace.open(Actor.staff(alan.id)) as work:
        await handoff.take_over(work, conversation_id)
    await ann.next("message")  # Alan joined
    async with chat.workplace.open(Actor.staff(alan.id)) as work:
        await handoff.add_note(work, conversation_id, "VIP, owns two flats")
        await handoff.transfer(work, conversation_id, bea.id, "she speaks Cantonese")
    # The note stays with staff; the transfer tells the visitor who answers now, and nothing of its note.
    told = [f for f in await quiet(ann) if f["type"] == "message"]
    assert [f["reply"]["html"] for f in told] == [
        "Your conversation has been passed to Bea Agent, who will answer you here."]
    await ann.close()

    async with chat.workplace.open(Actor.staff(bea.id)) as work:
        await handoff.agent_reply(work, conversation_id, Say("Bea here, taking over.").to_payload(), text="Bea")
    await delivered(sessions, 5)
    back = await ann.connect()
    waiting = [item for item in back["items"] if item["type"] == "message"]
    assert [(m["name"], m["reply"]["html"]) for m in waiting] == [("Bea Agent", "Bea here, taking over.")]
    assert "VIP" not in json.dumps(back)
