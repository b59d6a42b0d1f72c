"""The channels: Telegram (aiogram in, outbox out) and the customer web chat (`bot.webchat`).

Inbound updates are stored, de-duplicated and handled in order per chat (bot.pipeline); handlers translate
aiogram objects into channel-neutral events for dialogs.engine (bot.handlers); every reply goes through the
outbox and is delivered by bot.sender within Telegram's limits. bot.channel wires it all together.
"""
