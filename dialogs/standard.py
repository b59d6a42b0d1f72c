"""The engine's standard answers: the main menu, help, and what it says when a button expired, a flow failed,
a message cannot be read or was not understood. Flows use the menu too (a "back to the menu" answer). The menu's
own buttons are answered by the menu flow (dialogs.flows.start), which decodes the tokens drawn here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from dialogs.flow import DialogContext
from dialogs.i18n import LANGUAGES, N_
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data, one_of

LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}
HANDOFF_FLOW = "handoff"  # offered first after repeated misunderstandings
MENU_FLOW = "menu"


class MenuAction(StrEnum):
    MAIN = "main"
    HELP = "help"
    LANGUAGE = "language"


@dataclass(frozen=True)
class MenuButton(Token):
    prefix = ""
    action: MenuAction


@dataclass(frozen=True)
class PickLanguage(Token):
    prefix = "lang"
    code: Annotated[str, one_of(LANGUAGES)]


def _menu_button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(MENU_FLOW, token))


def menu_choices(ctx: DialogContext) -> list[list[Choice]]:
    rows = [[Choice(ctx.t(flow.menu_label or ""), f"{flow.name}:start")] for flow in ctx.flows.in_menu(ctx)]
    rows.append([_menu_button(ctx.t(N_("Language")), MenuButton(MenuAction.LANGUAGE)),
                 _menu_button(ctx.t(N_("Help")), MenuButton(MenuAction.HELP))])
    return rows


def main_menu(ctx: DialogContext, text: str | None = None, edit: bool = False) -> Say:
    return Say(text=text or ctx.t("Main menu"), choices=menu_choices(ctx), edit=edit)


def help_text(ctx: DialogContext) -> str:
    lines = [ctx.t("Here is what I can do:")]
    lines += [f"• {ctx.t(flow.menu_label or '')}" for flow in ctx.flows.in_menu(ctx)]
    lines.append("")
    lines.append(ctx.t("Commands: /start main menu, /help this help, /language change language."))
    return "\n".join(lines)


def language_choices() -> list[list[Choice]]:
    return [[_menu_button(LANGUAGE_NAMES[code], PickLanguage(code)) for code in LANGUAGES]]


def expired(ctx: DialogContext) -> list[Reply]:
    return [main_menu(ctx, ctx.t("This button has expired. Here is the menu."))]


def apology(ctx: DialogContext) -> list[Reply]:
    return [main_menu(ctx, ctx.t("Sorry, something went wrong on our side. Nothing you told me is lost; "
                                 "here is the menu."))]


def unsupported(ctx: DialogContext) -> list[Reply]:
    return [Say(ctx.t("I can read text, buttons, photos, locations and contacts. "
                      "Stickers, voice and other messages I cannot read yet."))]


def misunderstood(ctx: DialogContext, offer_person: bool) -> list[Reply]:
    handoff = ctx.flows.get(HANDOFF_FLOW)
    if offer_person and handoff is not None and handoff.menu_label:
        choices = [[Choice(ctx.t(handoff.menu_label), f"{HANDOFF_FLOW}:start")], *menu_choices(ctx)]
        return [Say(ctx.t("Sorry, I did not understand that. Please use the menu below."), choices=choices)]
    return [main_menu(ctx, ctx.t("Sorry, I did not understand that. Please use the menu below."))]
