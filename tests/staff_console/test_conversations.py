"""Agents in a conversation over HTTP: take (atomic), reply through the outbox, notes, transfer, return, close
with the survey, live updates over the WebSocket, customer photos through the Bot API, auto-assignment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from staff_console.app import WORKPLACE_KEY, create_app
from storage import clock
from storage.db import transaction
from storage.events import message_status
from storage.models import (
    PRIORITY_AGENT,
    AuditLog,
    Conversation,
    Message,
    OutboxMessage,
    Staff,
    StaffNotification,
    Survey,
)
from storage.services import handoff
from tests.staff_console.conftest import console_settings, sign_in
from tests.staff_console.helpers import customer_writes, waiting_customer


async def _outbox(sessions, chat_id=None):
    async with sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if chat_id is not None:
            query = query.where(OutboxMessage.chat_id == chat_id)
        return (await session.scalars(query)).all()


async def _post(client, path, token, **data):
    return await client.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def test_take_reply_note_return_close(client, team, sessions, bus):
    conversation = await waiting_customer(sessions, bus, language="zh")
    token = await sign_in(client, "agent@example.com")
    base = f"/conversations/{conversation.id}"
    assert (await _post(client, base + "/take", token)).status == 303
    joined = await _outbox(sessions)
    assert "Alan Agent" in joined[-1].payload["text"] and "已接入" in joined[-1].payload["text"]

    response = await client.post(base + "/reply", data={"text": "Hello <b>Carol</b> & co"},
                                 headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert response.status == 200
    body = await response.json()
    assert body["message"]["text"] == "Hello <b>Carol</b> & co" and body["message"]["delivery_status"] == "pending"
    row = (await _outbox(sessions))[-1]
    assert row.payload == {"kind": "say", "text": "Hello &lt;b&gt;Carol&lt;/b&gt; &amp; co", "choices": [],
                           "edit": False, "edit_message_id": None, "remove_keyboard": False}
    assert row.priority == PRIORITY_AGENT and row.message_id == body["message"]["id"]

    count = len(await _outbox(sessions))
    assert (await _post(client, base + "/note", token, text="VIP, call back")).status == 303
    assert len(await _outbox(sessions)) == count  # notes stay in the console

    assert (await _post(client, base + "/return", token)).status == 303
    async with sessions() as session:
        stored = await session.get(Conversation, conversation.id)
        assert stored.mode == "bot" and stored.assignee_id is None
    assert "智能助理" in (await _outbox(sessions))[-1].payload["text"]

    async with transaction(sessions) as session:  # the customer asks again, the agent takes and closes
        from storage.services import handoff

        again = await session.get(Conversation, conversation.id)
        await handoff.request_handoff(session, again, "asked")
    assert (await _post(client, base + "/take", token)).status == 303
    assert (await _post(client, base + "/close", token)).status == 303
    survey_row = (await _outbox(sessions))[-1]
    tokens = [c["token"] for row in survey_row.payload["choices"] for c in row]
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        stored = await session.get(Conversation, conversation.id)
        actions = (await session.scalars(select(AuditLog.action).where(AuditLog.target_type == "conversation"))).all()
    assert tokens == [f"survey:r:{survey.id}:{n}" for n in range(1, 6)]
    assert survey.staff_id == team.agent.id and stored.status == "closed"
    assert actions == ["takeover", "status", "takeover", "status"]


async def test_two_agents_press_take_at_once(make_client, team, sessions, bus):
    conversation = await waiting_customer(sessions, bus)
    first, second = await make_client(), await make_client()
    tokens = [await sign_in(first, "agent@example.com"), await sign_in(second, "agent2@example.com")]
    path = f"/conversations/{conversation.id}/take"
    results = await asyncio.gather(
        first.post(path, headers={"X-CSRF-Token": tokens[0], "Accept": "application/json"}),
        second.post(path, headers={"X-CSRF-Token": tokens[1], "Accept": "application/json"}),
    )
    assert sorted(r.status for r in results) == [200, 409]
    async with sessions() as session:
        assignee = (await session.get(Conversation, conversation.id)).assignee_id
    winner = team.agent.id if results[0].status == 200 else team.agent2.id
    assert assignee == winner


async def test_only_the_owner_writes(make_client, team, sessions, bus):
    conversation = await waiting_customer(sessions, bus)
    owner, other = await make_client(), await make_client()
    owner_token = await sign_in(owner, "agent@example.com")
    other_token = await sign_in(other, "agent2@example.com")
    base = f"/conversations/{conversation.id}"
    await _post(owner, base + "/take", owner_token)
    for action, data in (("/reply", {"text": "mine now"}), ("/close", {}), ("/return", {}),
                         ("/transfer", {"to_staff_id": str(team.agent2.id)})):
        response = await other.post(base + action, data=data,
                                    headers={"X-CSRF-Token": other_token, "Accept": "application/json"})
        assert response.status == 403, action
    page = await (await other.get(base)).text()
    assert 'id="reply-form"' not in page  # reading is fine, writing is not offered


async def test_transfer_with_note(make_client, team, sessions, bus):
    conversation = await waiting_customer(sessions, bus)
    owner, target = await make_client(), await make_client()
    token = await sign_in(owner, "agent@example.com")
    target_token = await sign_in(target, "agent2@example.com")
    base = f"/conversations/{conversation.id}"
    await _post(owner, base + "/take", token)
    assert (await _post(owner, base + "/transfer", token, to_staff_id=str(team.agent2.id),
                        note="Needs a Mandarin speaker")).status == 303
    async with sessions() as session:
        assert (await session.get(Conversation, conversation.id)).assignee_id == team.agent2.id
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "transfer"))
        assert audit.details["to"] == team.agent2.id
    page = await (await target.get(base)).text()
    assert "Needs a Mandarin speaker" in page and 'id="reply-form"' in page
    reply = await target.post(base + "/reply", data={"text": "你好"},
                              headers={"X-CSRF-Token": target_token, "Accept": "application/json"})
    assert reply.status == 200


async def test_live_updates_reach_the_conversation_page(client, team, sessions, bus):
    conversation = await waiting_customer(sessions, bus)
    token = await sign_in(client, "agent@example.com")
    await _post(client, f"/conversations/{conversation.id}/take", token)
    origin = f"http://{client.server.host}:{client.server.port}"
    ws = await client.ws_connect(f"/ws?conversation={conversation.id}", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    message = await customer_writes(sessions, bus, conversation.id, "<script>x</script> is it still free?")
    live = await ws.receive_json(timeout=5)
    assert live["type"] == "message" and live["message"]["id"] == message.id
    assert live["message"]["text"] == "<script>x</script> is it still free?"  # the page inserts it as text
    # Every page of the assignee hears of the customer's message (the page decides whether to alert), with the
    # row's customer words and unread count for the counters.
    attention = await ws.receive_json(timeout=5)
    assert attention["type"] == "attention" and attention["kind"] == "message"
    # Unread: the request for a person and this message (the agent took the chat without opening its page).
    assert attention["row"]["assignee_id"] == team.agent.id and attention["row"]["unread"] == 2
    assert attention["row"]["last_text"] == "<script>x</script> is it still free?"
    await bus.publish(message_status(outbox_id=1, message_id=77, conversation_id=conversation.id,
                                     customer_id=conversation.customer_id, chat_id=1, status="sent",
                                     telegram_message_id=1))
    status = await ws.receive_json(timeout=5)
    assert status == {"type": "status", "message_id": 77, "status": "sent", "conversation_id": conversation.id}
    await ws.close()


async def test_inbox_socket_sees_queue_changes(make_client, team, sessions, bus):
    viewer = await make_client()
    await sign_in(viewer, "agent2@example.com")
    origin = f"http://{viewer.server.host}:{viewer.server.port}"
    ws = await viewer.ws_connect("/ws?inbox=1", headers={"Origin": origin})
    await ws.receive_json(timeout=5)
    conversation = await waiting_customer(sessions, bus, name="Dora")
    queued = await ws.receive_json(timeout=5)
    assert queued["type"] == "conversation" and queued["row"]["customer_name"] == "Dora"
    assert queued["row"]["mode"] == "waiting" and queued["row"]["waiting_since"]
    taker = await make_client()
    token = await sign_in(taker, "agent@example.com")
    await _post(taker, f"/conversations/{conversation.id}/take", token)
    update = await ws.receive_json(timeout=5)
    while update["type"] != "conversation" or update["row"]["mode"] != "human":
        update = await ws.receive_json(timeout=5)
    assert update["row"]["assignee_id"] == team.agent.id
    await ws.close()


async def test_customer_photo_is_proxied_without_exposing_the_token(sessions, bus, team):
    token = "123456:" + "A" * 35
    seen: list[str] = []

    async def get_file(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"ok": True, "result": {"file_id": request.query["file_id"],
                                                         "file_path": "photos/p1.jpg", "file_size": 4}})

    async def download(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=b"\xff\xd8JPEG")

    fake = web.Application()
    fake.router.add_get("/bot{token}/getFile", get_file)
    fake.router.add_get("/file/bot{token}/{path:.+}", download)
    async with TestServer(fake) as api:
        settings = console_settings(telegram_bot_token=token, telegram_api_base=str(api.make_url("")).rstrip("/"))
        from aiohttp.test_utils import TestClient

        async with TestClient(TestServer(create_app(settings=settings, sessions=sessions, bus=bus))) as client:
            conversation = await waiting_customer(sessions, bus)
            message = await customer_writes(sessions, bus, conversation.id, "[photo]",
                                            payload={"photo_file_ids": ["AgAD-file-1"]})
            await sign_in(client, "agent@example.com")
            page = await (await client.get(f"/conversations/{conversation.id}")).text()
            assert f"/conversations/{conversation.id}/photos/{message.id}/0" in page and token not in page
            response = await client.get(f"/conversations/{conversation.id}/photos/{message.id}/0")
            assert response.status == 200 and await response.read() == b"\xff\xd8JPEG"
            assert response.content_type == "image/jpeg"
            assert (await client.get(f"/conversations/{conversation.id}/photos/{message.id}/1")).status == 404
    assert seen == [f"/bot{token}/getFile", f"/file/bot{token}/photos/p1.jpg"]


async def _assignment_tick(client) -> tuple[int, int]:
    """The scheduled handoff job, through the console's workplace (what `homedesk` schedules)."""
    async with client.server.app[WORKPLACE_KEY].open() as work:
        return await handoff.assignment_tick(work)


async def test_auto_assignment_tick_and_silent_requeue(client, team, sessions, bus, frozen_clock):
    now = clock.now()
    async with transaction(sessions) as session:
        for person in (await session.scalars(select(Staff).where(Staff.role == "agent"))).all():
            person.online_until = now + timedelta(hours=2)
    first = await waiting_customer(sessions, bus, name="First")
    frozen_clock.advance(seconds=5)
    second = await waiting_customer(sessions, bus, name="Second")
    requeued, assigned = await _assignment_tick(client)
    assert (requeued, assigned) == (0, 2)
    async with sessions() as session:
        owners = {c.id: c.assignee_id for c in (await session.scalars(select(Conversation))).all()}
        joined = (await session.scalars(select(Message).where(Message.sender == "system"))).all()
    assert {owners[first.id], owners[second.id]} == {team.agent.id, team.agent2.id}
    assert len(joined) == 2 and all("from our team is here" in m.text for m in joined)
    async with sessions() as session:
        told = (await session.scalars(select(StaffNotification.text).where(
            StaffNotification.staff_id == owners[first.id]))).all()
    assert told == ["First was assigned to you"]
    frozen_clock.advance(minutes=6)  # nobody answered within HANDOFF_REASSIGN_MINUTES (5)
    async with transaction(sessions) as session:
        for person in (await session.scalars(select(Staff).where(Staff.role == "agent"))).all():
            person.online_until = clock.now() + timedelta(hours=2)
    requeued, assigned = await _assignment_tick(client)
    assert requeued == 2 and assigned == 2  # each goes to the other agent
    async with sessions() as session:
        swapped = {c.id: c.assignee_id for c in (await session.scalars(select(Conversation))).all()}
    assert swapped[first.id] == owners[second.id] and swapped[second.id] == owners[first.id]


async def test_a_photo_staff_sent_shows_as_a_photo_and_only_from_the_media_folder(client, team, sessions, bus,
                                                                                 tmp_path):
    from storage.models import Message

    conversation = await waiting_customer(sessions, bus)
    token = await sign_in(client, "agent@example.com")
    await _post(client, f"/conversations/{conversation.id}/take", token)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("caption", "The kitchen")
    form.add_field("photo", png, filename="kitchen.png", content_type="image/png")
    sent = await client.post(f"/conversations/{conversation.id}/photo", data=form, allow_redirects=False)
    assert sent.status == 303
    async with sessions() as session:
        photo = await session.scalar(select(Message).where(Message.conversation_id == conversation.id,
                                                           Message.kind == "photo"))
    page = await (await client.get(f"/conversations/{conversation.id}")).text()
    src = f"/conversations/{conversation.id}/sent-photos/{photo.id}"
    assert f'<img class="photo" alt="Photo sent to the customer" src="{src}"' in page
    served = await client.get(src)
    assert served.status == 200 and await served.read() == png
    # A message whose stored path points outside the media folder is never served.
    async with sessions() as session, session.begin():
        row = await session.get(Message, photo.id)
        row.payload = {**row.payload, "photo": "/etc/passwd"}
    assert (await client.get(src)).status == 404
    assert (await client.get(f"/conversations/{conversation.id + 1}/sent-photos/{photo.id}")).status == 404
