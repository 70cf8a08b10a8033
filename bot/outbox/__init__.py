"""Messages as outbox rows, and the sender that delivers them after the commit: per-chat
order, Telegram's limits (limits.py, textlimits.py), retries, the message builders
(messages.py). The sender reaches Telegram through port.py; a transport implements it
(bot/telegram/delivery.py for aiogram).

May import: storage (SQLAlchemy too), dialogs, bot.jobs.periodic (what counts as an outage);
never a Telegram
library (that is the transport's side of the port).
"""
