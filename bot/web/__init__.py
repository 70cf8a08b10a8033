"""The aiohttp server of webhook mode (server.py): Telegram's webhook route, mounted from
the transport (bot/transport/webhook.py), /healthz, /readyz.

May import: aiohttp, sqlalchemy, storage, bot.transport (the webhook route). Never a Telegram
library itself.
"""
