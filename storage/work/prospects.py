"""The rows of the update being handled: its id (a redelivery refused), the prospect (locked),
their conversations, leads and consents, and the flow version a conversation is pinned to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, Update, bindparam, delete, func, insert, select, update

from storage.db import trip
from storage.schema.tables import (
    Consent,
    Conversation,
    FlowVersion,
    Lead,
    ProcessedUpdate,
    Prospect,
)
from storage.work.repository import Repository


def _prebuilt_update(table: Table, key: str, *columns: str) -> Update:
    """An UPDATE of these columns of the row whose `key` is `:_key`, built once: the hot
    path's statements are not rebuilt per update (the engine caches their compiled form)."""
    return update(table).where(table.c[key] == bindparam("_key")).values(
        **{name: bindparam(f"_{name}", type_=table.c[name].type) for name in columns})


RECORD_UPDATE = insert(ProcessedUpdate.__table__).values(
    update_id=bindparam("_id", type_=ProcessedUpdate.__table__.c.update_id.type),
    processed_at=bindparam("_at", type_=ProcessedUpdate.__table__.c.processed_at.type))
STATE_COLUMNS = ("state", "step", "finished", "progress", "updated_at")
SAVE_STATE = _prebuilt_update(Conversation.__table__, "id", *STATE_COLUMNS)
# the prospect locked, with (SQLite) or before (PostgreSQL) their latest conversation: built
# once, as every update reads them (lock_with_conversation says why two ways)
LOCK = select(Prospect).where(Prospect.user_id == bindparam("_user")).with_for_update()
LATEST = (select(Conversation).where(Conversation.user_id == bindparam("_user"))
          .order_by(Conversation.id.desc()).limit(1))
LOCK_WITH_LATEST = (
    select(Prospect, Conversation)
    .outerjoin(Conversation, Conversation.id == select(func.max(Conversation.id)).where(
        Conversation.user_id == bindparam("_user")).scalar_subquery())
    .where(Prospect.user_id == bindparam("_user")))


class Updates(Repository):
    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def record(self, update_id: int, now: datetime) -> None:
        """Raises IntegrityError when the update was recorded before (a redelivery)."""
        await trip.execute(self.session, RECORD_UPDATE, [{"_id": update_id, "_at": now}])

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
        return result.rowcount or 0


class Prospects(Repository):
    async def lock(self, user_id: int) -> Prospect | None:
        """The prospect's row, locked until commit: one update per prospect at a time
        across processes (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE does it there)."""
        result = await self.session.execute(LOCK, {"_user": user_id})
        return result.scalar_one_or_none()

    async def get(self, user_id: int) -> Prospect | None:
        return await self.session.get(Prospect, user_id)

    async def lock_with_conversation(self, user_id: int
                                     ) -> tuple[Prospect | None, Conversation | None]:
        """The prospect's row, locked, and their latest conversation as the update before
        this one committed it.

        PostgreSQL (READ COMMITTED) reads every table of a statement from the snapshot taken
        when the statement began; a statement that waited for the lock re-reads only the
        locked row. A conversation read in the same statement would be the one from before
        the previous update of this prospect committed, and that update's answer would be
        lost: there it is read in a second statement, after the lock. SQLite's BEGIN
        IMMEDIATE takes the lock before anything is read, so one statement does."""
        if self.session.get_bind().dialect.name != "sqlite":
            prospect = await self.lock(user_id)
            if prospect is None:
                return None, None
            result = await self.session.execute(LATEST, {"_user": user_id})
            return prospect, result.scalar_one_or_none()
        row = (await self.session.execute(LOCK_WITH_LATEST, {"_user": user_id})).first()
        return (row[0], row[1]) if row is not None else (None, None)


class Conversations(Repository):
    async def latest(self, user_id: int) -> Conversation | None:
        result = await self.session.execute(LATEST, {"_user": user_id})
        return result.scalar_one_or_none()

    async def variant_in(self, user_id: int, experiment: str) -> str | None:
        """The variant the prospect last had in this A/B experiment, if any."""
        result = await self.session.execute(
            select(Conversation.variant).where(Conversation.user_id == user_id,
                                               Conversation.experiment == experiment)
            .order_by(Conversation.id.desc()).limit(1))
        return result.scalar_one_or_none()

    async def add_now(self, conversation: Conversation) -> Conversation:
        self.session.add(conversation)
        await self.session.flush()  # the id, for the rows that point at it
        return conversation

    async def save_state(self, conversation_id: int, **values: object) -> None:
        """The new state: one UPDATE, without the ORM's change tracking (the hot path)."""
        if tuple(values) == STATE_COLUMNS:  # the hot path: the statement built once
            await trip.execute(self.session, SAVE_STATE, [{
                "_key": conversation_id, **{f"_{k}": v for k, v in values.items()}}])
            return
        await self.session.execute(update(Conversation.__table__).where(
            Conversation.__table__.c.id == conversation_id).values(**values))


class Leads(Repository):
    async def for_conversation(self, conversation_id: int) -> Lead | None:
        result = await self.session.execute(
            select(Lead).where(Lead.conversation_id == conversation_id))
        return result.scalar_one_or_none()

    async def latest_names(self, user_ids: list[int]) -> dict[int, str]:
        """`latest_name` for several people in one query (a broadcast's batch)."""
        found: dict[int, str] = {}
        if user_ids:
            result = await self.session.execute(
                select(Lead.user_id, Lead.name).where(
                    Lead.user_id.in_(user_ids), Lead.name.is_not(None),
                    Lead.erased_at.is_(None)).order_by(Lead.id))
            found = {user_id: name for user_id, name in result.all()}  # the last wins
        return found

    async def latest_name(self, user_id: int) -> str | None:
        """The name the person gave last (a broadcast's `{name}`); None: none, or erased."""
        result = await self.session.execute(
            select(Lead.name).where(Lead.user_id == user_id, Lead.name.is_not(None),
                                    Lead.erased_at.is_(None))
            .order_by(Lead.id.desc()).limit(1))
        return result.scalar_one_or_none()


class Consents(Repository):
    async def for_user(self, user_id: int) -> list[Consent]:
        result = await self.session.execute(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.id))
        return list(result.scalars())


class FlowVersions(Repository):
    async def get(self, flow_id: str, version: int) -> FlowVersion | None:
        return await self.session.get(FlowVersion, (flow_id, version))
