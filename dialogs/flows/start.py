"""/start, /help, /language and the main menu's own buttons. The menu itself is drawn by dialogs.standard."""

from __future__ import annotations

from dialogs.flow import DialogContext, Flow
from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Reply, Say
from dialogs.standard import (
    MENU_FLOW,
    MenuAction,
    MenuButton,
    PickLanguage,
    help_text,
    language_choices,
    main_menu,
    menu_choices,
)
from dialogs.tokens import decode


class MenuFlow(Flow):
    name = MENU_FLOW
    commands = ("start", "help", "language", "menu", "cancel")
    intent_words = ("menu", "菜单", "主菜单")
    works_while_human = True

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
            if not name:  # a web visitor has not told us their name
                return [main_menu(ctx, ctx.t("Hello! I am the Homedesk assistant. What can I do for you?"))]
            return [main_menu(ctx, ctx.t("Hello {name}! I am the Homedesk assistant. What can I do for you?",
                                         name=name))]
        return [main_menu(ctx)]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, MenuButton, PickLanguage):
            case MenuButton(MenuAction.MAIN):
                ctx.clear()
                return [main_menu(ctx, edit=True)]
            case MenuButton(MenuAction.HELP):
                return [Say(help_text(ctx), choices=menu_choices(ctx))]
            case MenuButton(MenuAction.LANGUAGE):
                return [Say(ctx.t("Choose your language:"), choices=language_choices(), edit=True)]
            case PickLanguage(code):
                ctx.customer.language = code
                ctx.customer.language_chosen = True
                done = t("zh", "语言已设置为简体中文。") if code == "zh" else t("en", "Language set to English.")
                return [main_menu(ctx, done, edit=True)]
        return None
