"""What the system says back, independent of the channel.

Replies are stored in the outbox as JSON (`to_payload`) and rendered by the channel at delivery time,
so the console can queue a reply without knowing anything about Telegram. Texts are HTML with every
customer-supplied value already escaped (see dialogs.i18n.t).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

MAX_TOKEN_BYTES = 48  # the channel adds a short prefix; Telegram allows 64 bytes of callback data
# In front of the tokens of a receipt's buttons (ticket numbers, booking confirmations, quotes, survey thanks):
# what such a press answers comes as new messages, so the receipt is never edited away (dialogs.engine).
RECEIPT_MARK = "~"


def receipt_token(token: str) -> str:
    return token if token.startswith(RECEIPT_MARK) else RECEIPT_MARK + token


def from_receipt(token: str) -> tuple[str, bool]:
    """(the flow's token, whether the button belongs to a receipt)."""
    if token.startswith(RECEIPT_MARK):
        return token[len(RECEIPT_MARK):], True
    return token, False


@dataclass(frozen=True)
class Choice:
    label: str
    token: str

    def __post_init__(self) -> None:
        # A flow's token leaves room for the receipt mark.
        limit = MAX_TOKEN_BYTES - (0 if self.token.startswith(RECEIPT_MARK) else len(RECEIPT_MARK))
        if len(self.token.encode()) > limit:
            raise ValueError(f"button token too long: {self.token!r}")


@dataclass(frozen=True)
class Reply:
    kind: ClassVar[str] = ""

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready form stored in the outbox: every field, buttons as dicts, and the kind.

        Built by hand rather than with dataclasses.asdict, whose deep copies dominate a burst of thousands of
        reminders; the fields are plain values, lists of them, or buttons.
        """
        body = dict(vars(self))  # the fields, in their order
        for name, value in body.items():
            if type(value) is list:
                body[name] = [_plain(item) for item in value]
        if body.get("receipt"):
            body["choices"] = [[{**choice, "token": receipt_token(choice["token"])} for choice in row]
                               for row in body.get("choices") or []]
        else:
            body.pop("receipt", None)  # most replies are no receipt: their stored form stays as it was
        body["kind"] = self.kind
        return body


@dataclass(frozen=True)
class Say(Reply):
    """A text message, optionally with buttons. `edit=True` replaces the message whose button was pressed."""

    kind: ClassVar[str] = "say"
    text: str
    choices: list[list[Choice]] = field(default_factory=list)
    edit: bool = False
    edit_message_id: int | None = None  # filled in by the engine from the pressed button
    remove_keyboard: bool = False  # removes a reply keyboard (after asking for contact/location)
    receipt: bool = False  # carries something to keep (a ticket number, a booking): its buttons never edit it


@dataclass(frozen=True)
class Photo(Reply):
    kind: ClassVar[str] = "photo"
    photo: str  # URL, local media path or channel file id
    caption: str = ""
    choices: list[list[Choice]] = field(default_factory=list)
    edit: bool = False
    edit_message_id: int | None = None
    receipt: bool = False


@dataclass(frozen=True)
class Album(Reply):
    kind: ClassVar[str] = "album"
    photos: list[str]
    caption: str = ""


@dataclass(frozen=True)
class Location(Reply):
    kind: ClassVar[str] = "location"
    latitude: float
    longitude: float


@dataclass(frozen=True)
class AskContact(Reply):
    """Ask for the phone with the channel's share-contact button; `text` says why."""

    kind: ClassVar[str] = "ask_contact"
    text: str
    button: str
    cancel: str = ""


@dataclass(frozen=True)
class AskLocation(Reply):
    kind: ClassVar[str] = "ask_location"
    text: str
    button: str
    cancel: str = ""


@dataclass(frozen=True)
class ButtonAnswer(Reply):
    """The small notice shown when a button is pressed (every press gets one)."""

    kind: ClassVar[str] = "button_answer"
    text: str = ""
    alert: bool = False


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Choice):
        return {"label": value.label, "token": value.token}
    return value


REPLY_TYPES: dict[str, type[Reply]] = {cls.kind: cls for cls in (Say, Photo, Album, Location, AskContact, AskLocation,
                                                                  ButtonAnswer)}


def reply_from_payload(payload: dict[str, Any]) -> Reply:
    body = dict(payload)
    cls = REPLY_TYPES[body.pop("kind")]
    if "choices" in body:
        body["choices"] = [[Choice(**c) for c in row] for row in body["choices"]]
    return cls(**body)
