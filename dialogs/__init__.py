"""Channel-neutral dialogs: inbound events in, replies out. Never imports aiogram or aiohttp."""
