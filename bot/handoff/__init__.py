"""Hot leads to the sales managers: the card in the managers' group, claims, the status
buttons, the relay between manager and prospect, SLA reminders and escalation.

May import: storage, dialogs, bot.outbox (message builders), bot.service.callbacks and
bot.service.intents (button data, a manager's tap), bot.texts, bot.settings.
Never a Telegram library: it writes outbox rows.
"""
