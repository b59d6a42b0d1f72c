"""Every word the web chat page and widget show, in English and Simplified Chinese (dialogs/locales/zh/webchat.po).

The page gets the strings of its language in one JSON block; error frames from the socket carry their text in the
visitor's language. The bot's own messages come from the dialogs, as in Telegram.
"""

from __future__ import annotations

from dialogs.i18n import LANGUAGES, N_, translate

PAGE: dict[str, str] = {
    "title": N_("Chat with us"),
    "assistant": N_("Homedesk assistant"),
    "placeholder": N_("Type a message"),
    "send": N_("Send"),
    "attach": N_("Send a photo"),
    "caption": N_("Add a caption (optional)"),
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost. Reconnecting…"),
    "online": N_("Connected"),
    "phone_label": N_("Your phone number"),
    "phone_invalid": N_("Please enter a phone number (digits, spaces, + and - only)."),
    "cancel": N_("Cancel"),
    "no_location": N_("This browser cannot share its location. You can type the address instead."),
    "location_denied": N_("The location was not shared."),
    "map": N_("Open on a map"),
    "photo": N_("Photo"),
    "photo_unavailable": N_("Photo unavailable"),
    "you": N_("You"),
    "agent_with_you": N_("{name} from our team is with you"),
    "menu": N_("Main menu"),
    "language": N_("Language"),
    "upload_type": N_("Only JPEG, PNG, GIF or WebP images can be sent."),
    "upload_size": N_("This photo is too large to send."),
    "upload_failed": N_("The photo could not be sent. Please try again."),
    "not_allowed": N_("This site is not allowed to show this chat. The site's owner can allow it in the Homedesk "
                      "settings (WEBCHAT_ORIGINS)."),
    "open_chat": N_("Open the chat"),
    "close_chat": N_("Close the chat"),
}

# Error frames: code -> what the visitor reads.
ERRORS: dict[str, str] = {
    "rate_limited": N_("You are sending messages too fast. Please wait a few seconds and try again."),
    "too_large": N_("That message is too long to send."),
    "bad_frame": N_("That message could not be read."),
    "forged": N_("That button or photo does not belong to this chat."),
    "bad_token": N_("Your chat session could not be verified, so a new one was started."),
    "not_ready": N_("The chat is still connecting. Please try again in a moment."),
    "failed": N_("Sorry, something went wrong on our side. Please try again."),
}


def page_strings(lang: str) -> dict[str, str]:
    return {key: translate(lang, message) for key, message in PAGE.items()}


def error_text(lang: str, code: str) -> str:
    return translate(lang, ERRORS.get(code, ERRORS["failed"]))


def widget_strings() -> dict[str, dict[str, str]]:
    """The widget runs on the company's page and picks its language from the browser there."""
    keys = ("open_chat", "close_chat", "not_allowed", "title")
    return {lang: {key: translate(lang, PAGE[key]) for key in keys} for lang in LANGUAGES}
