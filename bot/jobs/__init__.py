"""Work the running bot does on a clock: follow-ups when due, and the loop that runs a job
every N seconds and waits out outages (periodic.py).

May import: storage, dialogs, bot.outbox. Never a Telegram library.
"""
