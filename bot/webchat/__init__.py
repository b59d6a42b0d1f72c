"""The customer web chat: a second channel beside Telegram, served by Homedesk's own web server.

Browsers talk to the same channel-neutral dialogs (`dialogs.engine.process`) over a WebSocket; replies come from
the same outbox (rows with channel 'web'), rendered for the page. `homedesk` mounts it on the web server it shares
with the staff console (`WebChatChannel.mount`) and starts its live delivery (`start`). See `channel.py` for the
routes and `protocol.py` for the socket protocol.
"""

from bot.webchat.channel import WebChatChannel

__all__ = ["WebChatChannel"]
