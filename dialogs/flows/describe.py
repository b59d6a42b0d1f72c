"""The category-describe-photos steps that repair and complaint share: a category button, then a description
(text, or a photo with a caption), then any number of photos, each caption and each further text added to the
description, until Done.

Both flows keep what the customer wrote the same way: every caption counts, and the description is capped at
MAX_DESCRIPTION characters however it was written. A flow moves the conversation to its CATEGORY step showing
`category_rows`, hands presses to `on_choice` and text and photos to `on_input`, and goes on when `finished`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialogs.flow import DialogContext
from dialogs.inbound import Inbound
from dialogs.names import CATEGORY_NAMES
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data

CATEGORY, DESCRIBE, PHOTOS = "category", "describe", "photos"
MAX_PHOTOS = 10
MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class PickCategory(Token):
    prefix = "cat"
    category: str  # checked against the flow's own categories


@dataclass(frozen=True)
class PhotosDone(Token):
    prefix = "photos:done"


@dataclass(frozen=True)
class DescribeStep:
    """One flow's use of the steps: its name (for steps and buttons), its categories, and its words (msgids)."""

    flow: str
    categories: Sequence[str]
    question: str  # asked once the category is chosen
    with_photos: str  # "{count}" photos so far
    without_photos: str
    done: str

    def category_rows(self, ctx: DialogContext) -> list[list[Choice]]:
        return [[Choice(ctx.t(CATEGORY_NAMES[c]), button_data(self.flow, PickCategory(c)))] for c in self.categories]

    async def on_choice(self, ctx: DialogContext, token: str) -> list[Reply] | None:
        picked = PickCategory.decode(token)
        if picked is None or picked.category not in self.categories or self._step(ctx) != CATEGORY:
            return None
        ctx.goto(self.flow, DESCRIBE, category=picked.category)
        return [Say(ctx.t(self.question), edit=True)]

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        step = self._step(ctx)
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
        return Say(text, choices=[[Choice(ctx.t(self.done), button_data(self.flow, PhotosDone()))]])

    def finished(self, ctx: DialogContext, token: str) -> bool:
        """The Done button of these steps, pressed while they are still open (not a stale one)."""
        return self._step(ctx) == PHOTOS and PhotosDone.decode(token) is not None

    def _step(self, ctx: DialogContext) -> str | None:
        return ctx.conversation.step if ctx.conversation.flow == self.flow else None


def description(ctx: DialogContext) -> str:
    return str(ctx.slots.get("description", ""))


def photos(ctx: DialogContext) -> list[str]:
    return list(ctx.slots.get("photos", []))
