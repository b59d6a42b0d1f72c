"""aiogram objects -> channel-neutral events (dialogs.inbound.Inbound) and identities."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message, User

from dialogs.engine import Identity
from dialogs.inbound import Inbound
from storage.vocabulary import Channel

# A choice no flow owns: the engine answers it with "this button has expired".
UNKNOWN_CHOICE = "?"


def identity_of(user: User, chat_id: int) -> Identity:
    return Identity(
        channel=Channel.TELEGRAM,
        external_id=str(user.id),
        address=chat_id,
        first_name=user.first_name or "",
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def command_event(message: Message, command: CommandObject) -> Inbound:
    return Inbound(
        kind="command",
        text=command.command.lower(),
        args=(command.args or "").strip(),
        language_code=_language(message),
    )


def message_event(message: Message) -> Inbound:
    """Any non-command message: text, photo, location, contact, or unsupported with its type."""
    language = _language(message)
    if message.text is not None:
        return Inbound(kind="text", text=message.text, language_code=language)
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        extra: dict[str, object] = {}
        if message.media_group_id:
            extra["media_group_id"] = message.media_group_id
        return Inbound(kind="photo", text=message.caption or "", photo_file_ids=(largest.file_id,),
                       language_code=language, extra=extra)
    location = message.location or (message.venue.location if message.venue else None)
    if location is not None:
        return Inbound(kind="location", latitude=location.latitude, longitude=location.longitude,
                       language_code=language)
    if message.contact is not None:
        sender_id = message.from_user.id if message.from_user else None
        own = message.contact.user_id is not None and message.contact.user_id == sender_id
        return Inbound(kind="contact", phone=message.contact.phone_number, contact_is_own=own,
                       language_code=language)
    content_type = getattr(message.content_type, "value", message.content_type)
    return Inbound(kind="unsupported", unsupported_type=str(content_type), language_code=language)


def choice_event(query: CallbackQuery, token: str | None) -> Inbound:
    message = query.message
    message_id = message.message_id if message is not None else None
    kind = None
    if isinstance(message, Message):  # not an InaccessibleMessage
        kind = "photo" if message.photo else "text" if message.text is not None else None
    return Inbound(kind="choice", choice=token or UNKNOWN_CHOICE, choice_message_id=message_id,
                   choice_message_kind=kind, language_code=query.from_user.language_code)


def _language(message: Message) -> str | None:
    return message.from_user.language_code if message.from_user else None
