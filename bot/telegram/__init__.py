"""The aiogram transport: the only code that imports aiogram. Updates in (router.py turns
them into the service's records; polling.py acknowledges an offset only after the commit;
webhook.py answers Telegram's posts only after it), Bot API calls out, and start-up with
Telegram (client.py builds the Bot, checks.py checks the token and the managers' chats).
It says no through its own errors (errors.py), never aiogram's, to the rest of the bot.

May import: aiogram, aiohttp, pydantic, SQLAlchemy's errors (to tell an outage from a bug),
bot.service, bot.outbox, bot.handoff (the managers' chats), bot.jobs, bot.settings,
bot.texts, dialogs.
"""
