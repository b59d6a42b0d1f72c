"""The engine's standard answers: the main menu, help, and what it says when a button expired, a flow failed,
a message cannot be read or was not understood. Flows use the menu too (a "back to the menu" answer)."""

from __future__ import annotations

from dialogs.flow import DialogContext
from dialogs.i18n import LANGUAGES, N_
from dialogs.replies import Choice, Reply, Say

LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}
HANDOFF_FLOW = "handoff"  # offered first after repeated misunderstandings


def menu_choices(ctx: DialogContext) -> list[list[Choice]]:
    rows = [[Choice(ctx.t(flow.menu_label or ""), f"{flow.name}:start")] for flow in ctx.flows.in_menu(ctx)]
    rows.append([Choice(ctx.t(N_("Language")), "menu:language"), Choice(ctx.t(N_("Help")), "menu:help")])
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
    return [[Choice(LANGUAGE_NAMES[code], f"menu:lang:{code}") for code in LANGUAGES]]


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
