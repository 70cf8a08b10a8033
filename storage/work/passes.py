"""Passes every process runs on a timer, run by one of them each time (pruning, retention):
the one whose statement moves the pass's `ran_at` on takes the turn, the others find it
taken and skip (pg-boss's way for its cron: no leader to elect, nothing held). One row per
pass, in job_runs.

May import: storage.schema, SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.tables import JobRun

TABLE = JobRun.__table__


async def take_turn(session: AsyncSession, name: str, every: timedelta,
                    now: datetime) -> bool:
    """True when this process runs pass `name` now: it last ran `every` ago or more (a
    tenth less: timers of processes started together drift), or never. The caller
    commits; a rollback gives the turn back."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(TABLE).values(name=name, ran_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[TABLE.c.name], set_={"ran_at": now},
        where=TABLE.c.ran_at <= now - every * 0.9).returning(TABLE.c.name)
    result = await session.execute(statement)
    return result.first() is not None
