"""/start, /help, /language, the main menu, and the engine's standard answers (expired, apology, unsupported)."""

from __future__ import annotations

from dialogs.flow import FLOWS, DialogContext, Flow, menu_flows, register
from dialogs.i18n import LANGUAGES, N_, t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say

LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}
HANDOFF_FLOW = "handoff"


def menu_choices(ctx: DialogContext) -> list[list[Choice]]:
    rows = [[Choice(ctx.t(flow.menu_label or ""), f"{flow.name}:start")] for flow in menu_flows(ctx)]
    rows.append([Choice(ctx.t(N_("Language")), "menu:language"), Choice(ctx.t(N_("Help")), "menu:help")])
    return rows


def main_menu(ctx: DialogContext, text: str | None = None, edit: bool = False) -> Say:
    return Say(text=text or ctx.t("Main menu"), choices=menu_choices(ctx), edit=edit)


def expired(ctx: DialogContext) -> list[Reply]:
    return [main_menu(ctx, ctx.t("This button has expired. Here is the menu."))]


def apology(ctx: DialogContext) -> list[Reply]:
    return [main_menu(ctx, ctx.t("Sorry, something went wrong on our side. Nothing you told me is lost; "
                                 "here is the menu."))]


def unsupported(ctx: DialogContext) -> list[Reply]:
    return [Say(ctx.t("I can read text, buttons, photos, locations and contacts. "
                      "Stickers, voice and other messages I cannot read yet."))]


def misunderstood(ctx: DialogContext, offer_person: bool) -> list[Reply]:
    handoff = FLOWS.get(HANDOFF_FLOW)
    if offer_person and handoff is not None and handoff.menu_label:
        choices = [[Choice(ctx.t(handoff.menu_label), f"{HANDOFF_FLOW}:start")], *menu_choices(ctx)]
        return [Say(ctx.t("Sorry, I did not understand that. Please use the menu below."), choices=choices)]
    return [main_menu(ctx, ctx.t("Sorry, I did not understand that. Please use the menu below."))]


def help_text(ctx: DialogContext) -> str:
    lines = [ctx.t("Here is what I can do:")]
    lines += [f"• {ctx.t(flow.menu_label or '')}" for flow in menu_flows(ctx)]
    lines.append("")
    lines.append(ctx.t("Commands: /start main menu, /help this help, /language change language."))
    return "\n".join(lines)


def language_choices() -> list[list[Choice]]:
    return [[Choice(LANGUAGE_NAMES[code], f"menu:lang:{code}") for code in LANGUAGES]]


class MenuFlow(Flow):
    name = "menu"
    commands = ("start", "help", "language", "menu", "cancel")
    intent_words = ("menu", "菜单", "主菜单")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.clear()
        return [main_menu(ctx)]

    async def on_command(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        if event.text == "help":
            return [Say(help_text(ctx), choices=menu_choices(ctx))]
        if event.text == "language":
            return [Say(ctx.t("Choose your language:"), choices=language_choices())]
        ctx.clear()
        if event.text == "start":
            name = ctx.customer.first_name or ""
            return [main_menu(ctx, ctx.t("Hello {name}! I am the Homedesk assistant. What can I do for you?",
                                         name=name))]
        return [main_menu(ctx)]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        if token == "main":
            ctx.clear()
            return [main_menu(ctx, edit=True)]
        if token == "help":
            return [Say(help_text(ctx), choices=menu_choices(ctx))]
        if token == "language":
            return [Say(ctx.t("Choose your language:"), choices=language_choices(), edit=True)]
        if token.startswith("lang:") and token[5:] in LANGUAGES:
            ctx.customer.language = token[5:]
            ctx.customer.language_chosen = True
            done = t("zh", "语言已设置为简体中文。") if token[5:] == "zh" else t("en", "Language set to English.")
            return [main_menu(ctx, done, edit=True)]
        return None


register(MenuFlow())
