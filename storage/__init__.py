"""Persistence: SQLModel tables, the async engine, Alembic migrations, repositories and the
unit of work. Imports `dialogs` only, never `bot` or a Telegram library."""
