"""The unit of work: one update is one transaction (cosmicpython's unit_of_work.py)."""

from __future__ import annotations

from functools import cache
from types import TracebackType
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Insert, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from storage.db import trip
from storage.db.engine import READ_ONLY, brief
from storage.schema.tables import OutboxMessage, utcnow
from storage.work import owners
from storage.work.broadcasts import Broadcasts
from storage.work.followups import FollowUps
from storage.work.handoffs import Handoffs
from storage.work.outbox import Events, Outbox
from storage.work.prospects import (
    Consents,
    Conversations,
    FlowVersions,
    Leads,
    Prospects,
    Updates,
)


@cache
def _defaults(model: type[SQLModel]) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """A table's columns (in order), default values and default factories, read once."""
    names, static, factories = [], {}, {}
    for name, field in model.model_fields.items():
        if name == "id":
            continue
        names.append(name)
        if field.default_factory is not None:
            factories[name] = field.default_factory
        elif field.default is not PydanticUndefined:
            static[name] = field.default
    return tuple(names), static, factories


@cache
def _appending(model: type[SQLModel]) -> Insert:
    """A table's INSERT of every column but the id, built once (the staged rows' keys)."""
    table = model.__table__
    return insert(table).values(**{name: bindparam(name, type_=table.c[name].type)
                                   for name in _defaults(model)[0]})


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reading: bool = False, brief: bool = False) -> None:
        """`reading`: it only reads, and on SQLite takes no write lock (a plain BEGIN): the
        sender's scans, which would otherwise hold the bot's writes back 20 times a second
        during a broadcast. `brief`: a few short statements (an update's): on SQLite they
        run in the event loop's thread under the write lock (storage/db/engine.py brief)."""
        self._sessions = sessions
        self._reading = reading
        self._brief = brief
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._briefly = None
        self._staged: dict[type[SQLModel], list[dict]] = {}
        self.committed_outbox: list[dict] = []
        self._flushed: list[dict] = []  # outbox rows written before the commit
        self.routed = owners.Routed()  # several processes: whose rows went where
        session = self.session = self._sessions()
        await session.begin()
        if self._reading:
            await session.connection(execution_options={READ_ONLY: True})
        self.updates = Updates(session)
        self.prospects = Prospects(session)
        self.conversations = Conversations(session)
        self.leads = Leads(session)
        self.consents = Consents(session)
        self.events = Events(session)
        self.follow_ups = FollowUps(session)
        self.outbox = Outbox(session)
        self.flow_versions = FlowVersions(session)
        self.handoffs = Handoffs(session)
        self.broadcasts = Broadcasts(session)
        if self._brief:  # last: nothing above may fail and leave it set (__aexit__ resets it)
            self._briefly = brief()
            self._briefly.__enter__()
        return self

    def stage(self, model: type[SQLModel], **values: Any) -> None:
        """An append-only row (outbox, event, answer, consent) written at commit with the
        others of its table in one INSERT, in the order staged. Plain values, the table's
        defaults for the rest: no ORM object to build on the hot path."""
        names, static, factories = _defaults(model)
        row = {name: values[name] if name in values
               else static[name] if name in static else factories[name]() for name in names}
        self._staged.setdefault(model, []).append(row)

    async def commit(self) -> None:
        """Writes the staged rows and commits. The outbox rows written are then in
        `committed_outbox` (each a dict of its columns with its id), for the sender's short
        path from commit to reply: on PostgreSQL with several processes, only the rows this
        process's sender sends (storage/work/owners.py; `routed` says where the others went)."""
        assert self.session is not None
        outbox = [*self._flushed, *await self.flush_outbox()]
        self._flushed = []
        holder = owners.holder_of(self.session)
        me = holder.number if holder is not None else None
        for model, rows in self._staged.items():  # one executemany each
            await trip.execute(self.session, _appending(model), rows)
        self._staged.clear()
        if holder is not None and self.outbox.changed:  # rows changed in place (an
            # erasure, a block): the other senders read them again; also from a process
            # without its number (0: nobody's), whose change their memory must not miss
            await owners.notify(self.session, [f"reread {me or 0}"])
        await self.session.commit()
        if outbox and holder is not None and me is None:  # without its number: nobody's
            outbox = []  # rows, taken by a live sender's scan; never sent from this memory
        elif outbox and self.routed.owners:  # another sender's rows reach it by NOTIFY
            outbox = [row for row in outbox if row["owner"] == me]
        self.committed_outbox = outbox or []

    async def flush_outbox(self) -> list[dict]:
        """Writes the outbox rows staged so far, before the commit: each dict then has its
        `id` (a broadcast's recipient keeps the id of its message). `commit` does it for
        the rows staged after."""
        assert self.session is not None
        outbox = self._staged.pop(OutboxMessage, None)
        holder = owners.holder_of(self.session)
        me = holder.number if holder is not None else None
        if outbox and me is not None:
            routed = await owners.assign(self.session, outbox, me, utcnow())
            self.routed = routed if not self._flushed else self.routed.merged(routed)
        ids = outbox and await trip.inserted_ids(self.session, _appending(OutboxMessage),
                                                 outbox)  # a brief SQLite transaction's
        if ids:
            for row, row_id in zip(outbox, ids, strict=True):
                row["id"] = row_id
        elif outbox:  # their ids, in the order staged, in the same one executemany
            table = OutboxMessage.__table__
            # SQLite: SQLAlchemy keeps RETURNING's order only by inserting row by row (its
            # RETURNING order is unspecified). Under the write lock BEGIN IMMEDIATE holds, one
            # multi-row INSERT gives the rows ascending ids in the order of its VALUES: the
            # sorted ids are the staged order, in one statement instead of one per row.
            sqlite = self.session.get_bind().dialect.name == "sqlite"
            result = await self.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=not sqlite), outbox)
            ids = [row_id for (row_id,) in result.all()]
            for row, row_id in zip(outbox, sorted(ids) if sqlite else ids, strict=True):
                row["id"] = row_id
        self._flushed.extend(outbox or ())
        return outbox or []

    def mine(self, row: OutboxMessage) -> bool:
        """Whether a pending row may be changed in place: no other live sender may hold
        it in memory, about to send it as it was (several processes: storage/work/
        owners.py). Otherwise a change goes as a new row behind it."""
        assert self.session is not None
        holder = owners.holder_of(self.session)
        return holder is None or row.owner is None or row.owner == holder.number

    async def rollback(self) -> None:
        assert self.session is not None
        await self.session.rollback()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        assert self.session is not None
        try:
            if self.session.in_transaction():  # not committed: nothing of it happened
                self.session.expunge_all()  # rows read stay readable (a rollback expires them)
                await self.session.rollback()
            await self.session.close()
        finally:
            if self._briefly is not None:
                self._briefly.__exit__(None, None, None)
