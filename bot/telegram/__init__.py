"""The aiogram transport: the only code that imports aiogram. Updates in (router.py turns
them into the service's records; polling.py acknowledges an offset only after the commit),
Bot API calls out.

May import: aiogram, bot.service, bot.outbox, bot.handoff (callback prefixes), dialogs.
"""
