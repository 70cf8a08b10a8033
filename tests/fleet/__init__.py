"""Several real `leadbot run --webhook` processes on one PostgreSQL database, one fake Bot API
for all of them, Telegram's webhook delivery, a crowd of prospects and two managers, kill -9
and restarts, and the accounting of what reached Telegram (issue 22).

- database.py: a PostgreSQL database of the run's own, migrated, dropped afterwards;
- processes.py: the fleet of processes (start, readiness from the log, kill -9, restart,
  CPU time from /proc);
- deliverer.py: updates POSTed like Telegram does (a random live process, the secret header,
  redelivered on anything but 200, one chat's updates in sequence);
- crowd.py: prospects through the kitchen quiz at a human pace, managers claiming each card;
- accounting.py: duplicates (and which a kill explains), lost answers, cards, claims, limit
  violations, fail-over times;
- scenario.py: all of it together, for tests/e2e/test_chaos.py and bench/scale.py.
"""
