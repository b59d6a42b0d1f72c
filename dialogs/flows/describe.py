"""The describe-and-photos step that repair and complaint share: a description (text, or a photo with a caption),
then any number of photos, each caption and each further text added to the description, until Done.

Both flows keep what the customer wrote the same way: every caption counts, and the description is capped at
MAX_DESCRIPTION characters however it was written. The flow moves the conversation to DESCRIBE with its own
question, hands text and photos to `on_input`, and goes on when `PhotosDone` is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.flow import DialogContext
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token

DESCRIBE, PHOTOS = "describe", "photos"
MAX_PHOTOS = 10
MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class PhotosDone(Token):
    prefix = "photos:done"


@dataclass(frozen=True)
class DescribeStep:
    """One flow's use of the step: its name (for steps and buttons) and the words of its photo prompt (msgids)."""

    flow: str
    with_photos: str  # "{count}" photos so far
    without_photos: str
    done: str

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        step = ctx.conversation.step if ctx.conversation.flow == self.flow else None
        text = event.text.strip()
        photo = list(event.photo_file_ids[-1:]) if event.kind == "photo" else []
        if step not in (DESCRIBE, PHOTOS) or event.kind not in ("text", "photo") or not (text or photo):
            return None
        if step == DESCRIBE:
            ctx.goto(self.flow, PHOTOS, description=text[:MAX_DESCRIPTION], photos=photo)
        else:
            ctx.set_slots(description=f"{description(ctx)}\n{text}".strip()[:MAX_DESCRIPTION],
                          photos=[*photos(ctx), *photo][:MAX_PHOTOS])
        return [self.prompt(ctx)]

    def prompt(self, ctx: DialogContext) -> Say:
        count = len(photos(ctx))
        text = ctx.t(self.with_photos, count=count) if count else ctx.t(self.without_photos)
        return Say(text, choices=[[Choice(ctx.t(self.done), f"{self.flow}:{PhotosDone().encode()}")]])

    def finished(self, ctx: DialogContext, token: str) -> bool:
        """The Done button of this step, pressed while the step is still open (not a stale one)."""
        return (ctx.conversation.flow == self.flow and ctx.conversation.step == PHOTOS
                and PhotosDone.decode(token) is not None)


def description(ctx: DialogContext) -> str:
    return str(ctx.slots.get("description", ""))


def photos(ctx: DialogContext) -> list[str]:
    return list(ctx.slots.get("photos", []))
