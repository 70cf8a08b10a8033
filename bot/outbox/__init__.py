"""Messages as outbox rows, and the sender that delivers them after the commit: per-chat
order, Telegram's limits (limits.py), retries, the message builders (messages.py).

May import: storage, dialogs, bot.jobs.periodic (what counts as an outage), and a Telegram
library only through the transport.
"""
