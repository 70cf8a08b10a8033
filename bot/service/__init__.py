"""The update service: one update, one transaction. What the transport hands in, the
prospect's conversation with the engine, the menu, the prospect's rights (rights.py), and
the flows in use (flows.py: latest and pinned versions).

May import: storage (and SQLAlchemy's errors), dialogs, bot.handoff, bot.outbox (message
builders), bot.texts, bot.settings, bot.logsafe. Never a Telegram library.
"""
