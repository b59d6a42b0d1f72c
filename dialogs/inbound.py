"""What a customer did, independent of the channel it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InboundKind = Literal["text", "command", "choice", "photo", "location", "contact", "unsupported"]


@dataclass(frozen=True)
class Inbound:
    kind: InboundKind
    text: str = ""  # the text, the command name without '/', or a photo's caption
    args: str = ""  # command arguments (deep-link payload of /start)
    choice: str | None = None  # token of a pressed button
    choice_message_id: int | None = None  # the message the pressed button belongs to
    # What that message is, "text" or "photo", when the channel knows: a text can only be edited into a text and
    # a photo into a photo, so an edit of the other kind is sent as a new message (dialogs.engine).
    choice_message_kind: str | None = None
    photo_file_ids: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    contact_is_own: bool = False  # the channel says the number is the sender's own
    # The customer typed the number (a channel without a verified share-contact element): theirs by their word,
    # not proven, so it never verifies an owner.
    contact_typed: bool = False
    unsupported_type: str | None = None  # sticker, voice, video, document, ...
    language_code: str | None = None  # the channel's idea of the customer's language
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """A short line for the conversation history."""
        if self.kind == "text":
            return self.text
        if self.kind == "command":
            return f"/{self.text} {self.args}".strip()
        if self.kind == "choice":
            return f"[{self.choice}]"
        if self.kind == "photo":
            return self.text or "[photo]"
        if self.kind == "location":
            return f"[location {self.latitude:.5f},{self.longitude:.5f}]"
        if self.kind == "contact":
            return f"[contact {self.phone}]"
        return f"[{self.unsupported_type or 'unsupported'}]"
