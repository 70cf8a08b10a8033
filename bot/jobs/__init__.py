"""Work the running bot does on a clock, one job a module: follow-ups when due
(followups.py), hand-off reminders and escalations (handoff_timers.py), retention
(retention.py), clean-up (pruning.py); how often each runs (schedule.py), and the loop that
runs a job every N seconds and waits out outages (periodic.py).

May import: storage (SQLAlchemy too), dialogs, bot.service, bot.settings, bot.outbox. Never a
Telegram library.
"""
