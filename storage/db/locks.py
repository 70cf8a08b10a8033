"""PostgreSQL advisory lock keys, one per purpose, in one place (a key space shared by every
leadbot process on one database; the values spell "LEAD" in their top half so they stand out
in pg_locks). SQLite has no advisory locks: there is one process (`leadbot run` refuses a
second on the same file).

- STARTUP: migrations and the flows' snapshot at start, one process at a time (transaction
  level: released at that transaction's end). N processes started at once on an empty
  database: the first migrates, the others wait, then find the revision at head.
- SENDERS: the class of session-level locks a sender holds while it is alive, one per
  process (its owner number, bot/outbox/fleet.py): released by PostgreSQL when its
  connection ends, so a process killed with -9 is seen gone at once.
- CHATS: per chat, transaction level: who sends a chat's rows is decided one transaction at
  a time (storage/work/owners.py).
"""

from __future__ import annotations

STARTUP = 0x1EAD0003
SENDERS = 0x1EAD0001  # pg_advisory_lock(SENDERS, owner): two-int form, class + number
CHATS = 0x1EAD0002  # pg_advisory_xact_lock(CHATS, chat_id % 2**31)
