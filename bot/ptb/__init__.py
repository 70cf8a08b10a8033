"""The python-telegram-bot (PTB) transport: the only code that imports PTB's `telegram`
package. A sibling of bot/telegram/ (aiogram) with the same duties: updates in (router.py
turns PTB's Update into the service's intents; the neutral polling loop and webhook route of
bot/transport/ acknowledge only after the commit, through wire.py), Bot API calls out
(delivery.py), start-up with Telegram (client.py builds the Bot, checks.py checks the token
and the managers' chats).

Taken from PTB: its Bot and HTTP client (httpx), its types (Update, Message, BotCommand,
InputFile) and its errors. Not taken, on purpose: Application.run_polling (confirms the
offset whatever the handlers did), its webhook handler (answers Telegram before the update
is processed), its persistence (flushed on a timer) and its rate limiter (the outbox has its
own, shared with aiogram: bot/outbox/limits.py).

May import: telegram (PTB), httpx, bot.service, bot.outbox, bot.handoff, bot.settings,
bot.texts, bot.transport, dialogs. Never aiogram, never bot.telegram.
"""

import os

# PTB's own switch to time periods as timedelta (its coming default): without it, merely
# building a RetryAfter warns that int seconds are deprecated.
os.environ.setdefault("PTB_TIMEDELTA", "true")
