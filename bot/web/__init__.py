"""The web server (server.py), in polling and webhook mode: /healthz, /readyz, /metrics, the
dashboard under /admin (admin.py, its templates and static files shipped in the package) with
its sign-in (security.py) and languages (i18n.py), and, in webhook mode, Telegram's webhook
route mounted from the transport (bot/transport/webhook.py, over the transport
LEADBOT_TRANSPORT names).

May import: aiohttp, jinja2, sqlalchemy, storage, bot.metrics, bot.transport (the webhook
route). Never a Telegram library itself.
"""
