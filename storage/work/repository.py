"""Repositories: load and add rows within the caller's transaction. They never commit;
the unit of work does (cosmicpython's adapters/repository.py). One module per concern:
prospects.py, outbox.py, handoffs.py, followups.py; uow.py holds one of each."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)
