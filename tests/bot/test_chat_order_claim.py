"""A chat's updates are claimed in order even when they sit in different processes (several instances): the
claim refuses an update while an earlier one of its chat is still waiting, and the pipeline that meets such a
refusal handles the chat's earlier updates first. On both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import InboundUpdate
from storage.updates import EarlierPending, claim, store, waiting_before
from tests.bot.conftest import eventually


def _row(update_id: int, chat_id: int) -> dict:
    return {"update_id": update_id, "chat_id": chat_id, "status": "received",
            "payload": {"update_id": update_id, "message": {"message_id": update_id, "date": 1700000000,
                                                            "chat": {"id": chat_id, "type": "private"},
                                                            "text": f"m{update_id}"}}}


async def test_the_claim_waits_for_the_chats_earlier_updates(any_sessions):
    async with any_sessions() as session, session.begin():
        await store(session, [_row(10, 501), _row(11, 501), _row(12, 501), _row(13, 502)])
    async with any_sessions() as session, session.begin():
        with pytest.raises(EarlierPending) as refused:
            await claim(session, 11)
        assert refused.value.chat_id == 501
        assert [stored.update_id for stored in await waiting_before(session, 12, 501)] == [10, 11]
        assert await claim(session, 13), "another chat is not held up"
        assert await claim(session, 10)
    async with any_sessions() as session, session.begin():
        assert await claim(session, 11)
        assert not await claim(session, 11), "handled once"
    async with any_sessions() as session, session.begin():
        assert await claim(session, 12)
        statuses = dict((await session.execute(select(InboundUpdate.update_id, InboundUpdate.status))).all())
    assert statuses == {10: "done", 11: "done", 12: "done", 13: "done"}


async def test_an_update_left_by_a_stopped_instance_is_handled_before_the_chats_next_one(
        api, make_any_channel, any_sessions):
    ann = api.customer(first_name="Ann")
    async with make_any_channel(api) as channel:
        # Stored while this instance runs, by an instance that then died: nobody here has it queued.
        raw = {"update_id": 50, "message": {
            "message_id": 1, "date": 1700000000,
            "chat": {"id": ann.chat_id, "type": "private", "first_name": "Ann"},
            "from": ann.user, "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        async with any_sessions() as session, session.begin():
            assert await store(session, [{"update_id": 50, "chat_id": ann.chat_id, "payload": raw,
                                          "status": "received"}]) == {50}
        ann.send_command("start")
        await ann.wait_for("Hello Ann", since_last_action=False)
        await eventually(lambda: len(ann.texts()) >= 2, what="both replies")
        texts = ann.texts()
        help_at = next(i for i, text in enumerate(texts) if "Here is what I can do" in text)
        hello_at = next(i for i, text in enumerate(texts) if "Hello Ann" in text)
        assert help_at < hello_at, texts
        assert channel.pipeline.stats.blocked >= 1
    async with any_sessions() as session:
        assert {status for status in await session.scalars(select(InboundUpdate.status))} == {"done"}


async def test_a_failing_flow_on_the_telegram_path_is_rolled_back_and_apologised_for_without_savepoints(
        api, make_any_channel, any_sessions, monkeypatch):
    """No savepoint around the flow on the hot path: a flow that raises rolls the whole unit of work back, and the
    update is handled again in a new one, which records it once and sends the apology."""
    from sqlalchemy import event

    from dialogs import engine
    from storage.models import Conversation, Message

    ann = api.customer(first_name="Ann")
    statements: list[str] = []
    async with make_any_channel(api):
        bind = any_sessions.kw["bind"].sync_engine

        def seen(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        event.listen(bind, "before_cursor_execute", seen)
        try:
            ann.send_command("start")  # first contact: creating the customer keeps its savepoint
            await ann.wait_for("Hello Ann")
            statements.clear()
            ann.send_command("help")
            await ann.wait_for("Here is what I can do")
            assert statements and not [s for s in statements if "SAVEPOINT" in s.upper()], statements

            async def broken(ctx, inbound):
                ctx.conversation.flow = "half-done"  # a change the failure must take back
                await ctx.session.flush()
                raise RuntimeError("a bug in a flow")

            monkeypatch.setattr(engine, "route", broken)
            ann.send_text("this breaks the flow")
            await ann.wait_for("Sorry, something went wrong on our side")
        finally:
            event.remove(bind, "before_cursor_execute", seen)
    async with any_sessions() as session:
        flows = list(await session.scalars(select(Conversation.flow)))
        inbound = list(await session.scalars(
            select(Message.text).where(Message.direction == "in", Message.text == "this breaks the flow")))
        statuses = {status for status in await session.scalars(select(InboundUpdate.status))}
    assert "half-done" not in flows
    assert inbound == ["this breaks the flow"], "the failed update is recorded once"
    assert statuses == {"done"}
