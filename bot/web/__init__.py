"""The aiohttp server of webhook mode (server.py): Telegram's webhook route, mounted from
the transport (bot/telegram/webhook.py), /healthz, /readyz.

May import: aiohttp, sqlalchemy, storage, bot.telegram (the webhook route). Never a Telegram
library itself.
"""
