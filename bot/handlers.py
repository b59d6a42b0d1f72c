"""Routers, one per concern: private commands, private messages, button presses, groups (ignored politely).

Each handler translates the aiogram object into a dialogs.inbound.Inbound and hands it to dialogs.engine in
the update's unit of work; the engine queues replies in the outbox inside that same transaction.
"""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot import translate
from bot.callbacks import unpack_token
from bot.filters import GroupChat, PrivateChat
from bot.unit_of_work import PressAnswer
from dialogs.engine import Identity, process
from dialogs.inbound import Inbound
from dialogs.replies import Say
from storage.models import PRIORITY_BOT
from storage.outbox import enqueue
from storage.repositories.customers import mark_reachable, mark_unreachable
from storage.unit_of_work import Work

ANY_COMMAND = Command(re.compile(r"[A-Za-z0-9_]{1,32}"))
# Both languages at once: in a group we do not know whose language to use.
GROUP_NOTICE = (
    "I only talk with customers in private chats. Please open a private chat with me.\n"
    "我只在私聊中为客户服务，请与我私聊。"
)


async def _run_engine(work: Work, press: PressAnswer, identity: Identity, event: Inbound, update_id: int) -> None:
    outcome = await process(work, identity, event, update_id)
    press.answer = outcome.button_answer


class MalformedUpdate(ValueError):
    """Telegram sent an update without a part its kind always has (the filters above let it through)."""


def commands_router() -> Router:
    router = Router(name="private-commands")
    router.message.filter(PrivateChat())

    @router.message(ANY_COMMAND)
    async def on_command(
        message: Message, command: CommandObject, work: Work, press: PressAnswer, event_update: Update
    ) -> None:
        if message.from_user is None:
            raise MalformedUpdate("a private command without a sender")
        await _run_engine(work, press, translate.identity_of(message.from_user, message.chat.id),
                          translate.command_event(message, command), event_update.update_id)

    return router


def messages_router() -> Router:
    router = Router(name="private-messages")
    router.message.filter(PrivateChat())

    @router.message()
    async def on_message(message: Message, work: Work, press: PressAnswer, event_update: Update) -> None:
        if message.from_user is None:
            raise MalformedUpdate("a private message without a sender")
        await _run_engine(work, press, translate.identity_of(message.from_user, message.chat.id),
                          translate.message_event(message), event_update.update_id)

    return router


def buttons_router() -> Router:
    router = Router(name="buttons")

    @router.callback_query(PrivateChat())
    async def on_press(query: CallbackQuery, work: Work, press: PressAnswer, event_update: Update) -> None:
        # Undecodable or forged data becomes an unknown choice, which the engine answers as "expired".
        token = unpack_token(query.data)
        if query.message is None:
            raise MalformedUpdate("a button press without its message")
        await _run_engine(work, press, translate.identity_of(query.from_user, query.message.chat.id),
                          translate.choice_event(query, token), event_update.update_id)

    return router


def groups_router() -> Router:
    """Homedesk serves customers one to one; in groups it only says so when asked for /start or /help."""
    router = Router(name="groups")
    router.message.filter(GroupChat())

    @router.message(Command("start", "help"))
    async def on_group_start(message: Message, work: Work) -> None:
        await enqueue(work.session, chat_id=message.chat.id, payload=Say(GROUP_NOTICE).to_payload(),
                      priority=PRIORITY_BOT)

    @router.message()
    async def on_group_message(message: Message) -> None:
        return None  # stored and marked done; nothing to say

    return router


def membership_router() -> Router:
    """A customer who blocks the bot is marked unreachable at once, before a send hits a 403; one who unblocks
    it is reachable again at once, so their reminders and alerts resume before they write."""
    router = Router(name="membership")

    @router.my_chat_member(PrivateChat())
    async def on_membership(event: ChatMemberUpdated, work: Work) -> None:
        status = event.new_chat_member.status
        if status == ChatMemberStatus.KICKED:
            await mark_unreachable(work.session, event.chat.id)
        elif status == ChatMemberStatus.MEMBER:
            await mark_reachable(work.session, event.chat.id)

    return router


def build_routers() -> list[Router]:
    return [groups_router(), commands_router(), buttons_router(), messages_router(), membership_router()]
