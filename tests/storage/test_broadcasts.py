"""Broadcast rows (storage/work/broadcasts.py), their results (storage/reports/broadcasts.py)
and the person's rights over them (erasure, /mydata), on SQLite and PostgreSQL; migration
0023 down and up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm.attributes import set_committed_value

from storage.db.engine import sessionmaker
from storage.db.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.privacy.erasure import erase
from storage.privacy.rights import export
from storage.reports.broadcasts import results
from storage.reports.segment import Recipient
from storage.schema.broadcasts import BroadcastRecipient
from storage.schema.tables import Conversation, Event, Lead, OutboxMessage
from storage.work.broadcasts import BroadcastError, Broadcasts, in_outbox
from storage.work.uow import UnitOfWork
from tests.databases import own_database
from tests.storage.broadcast_people import NOW, person

FILE = {"name": "nov", "segment": {"flows": ["kitchen-quiz"]}, "message": {"text": "Hi"}}


def people(*ids: int) -> list[Recipient]:
    return [Recipient(i, i, "ru" if i % 2 else None, None, None) for i in ids]


async def made(sessions, name: str = "nov", recipients: tuple[int, ...] = ()) -> int:
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.create(name, {**FILE, "name": name}, "d" * 64, "cli",
                                                None, now=NOW)
        if recipients:
            await uow.broadcasts.write_recipients(broadcast, people(*recipients), due_at=NOW,
                                                  batch=2)
        await uow.commit()
        return broadcast.id


def _migrate(connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def own_engine(request, tmp_path):
    async with own_database(request.param, tmp_path, "broadcasts") as engine:
        yield engine


async def test_migration_0023_goes_down_and_up(own_engine):
    await upgrade(own_engine)
    assert await current_revision(own_engine) == head_revision() == "0026"

    def tables(connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with own_engine.begin() as connection:
        await connection.run_sync(_migrate, "0022", True)
    async with own_engine.connect() as connection:
        assert not {"broadcasts", "broadcast_recipients"} & await connection.run_sync(tables)
    await upgrade(own_engine)
    async with own_engine.connect() as connection:
        assert {"broadcasts", "broadcast_recipients"} <= await connection.run_sync(tables)
        indexes = await connection.run_sync(lambda c: {
            index["name"] for index in inspect(c).get_indexes("broadcast_recipients")})
    assert {"ix_broadcast_recipients_due", "ix_broadcast_recipients_user_id",
            "ix_broadcast_recipients_outbox"} <= indexes
    sessions = sessionmaker(own_engine)
    assert await made(sessions, recipients=(1, 2, 3))


async def test_the_writers_window_is_counted_from_the_outbox_not_from_every_recipient(
        tmp_path):
    """The writer counts its rows not sent yet every second, in its write transaction: from
    the outbox's pending rows, each looked up by outbox_id, never a read of every recipient
    queued so far (SQLite's plan: its planner has no statistics, so the plan is the one a
    big broadcast gets)."""
    async with own_database("sqlite", tmp_path, "window") as engine:
        await upgrade(engine)
        statement = select(func.count()).select_from(in_outbox(7, ["pending"]).subquery())
        compiled = statement.compile(engine.sync_engine,
                                     compile_kwargs={"literal_binds": True})
        async with engine.connect() as connection:
            plan = " / ".join(row[-1] for row in await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}"))
    assert "SEARCH outbox USING INDEX ix_outbox_pending" in plan, plan
    assert "ix_broadcast_recipients_outbox (outbox_id=?)" in plan, plan
    assert "ix_broadcast_recipients_due" not in plan, plan


async def test_a_name_is_used_once_but_a_draft_is_replaced(sessions):
    first = await made(sessions, recipients=(1, 2))
    async with UnitOfWork(sessions) as uow:
        again = await uow.broadcasts.create("nov", {"name": "nov", "v": 2}, "e" * 64, "ann",
                                            NOW + timedelta(days=1), now=NOW)
        assert again.id == first and again.total == 0 and again.created_by == "ann"
        await uow.broadcasts.set_status(again, "scheduled", now=NOW)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert (await uow.broadcasts.get_by_name("nov")).definition == {"name": "nov", "v": 2}
        assert await uow.broadcasts.pending(first) == 0  # the draft's recipients went
        with pytest.raises(BroadcastError, match="exists already \\(scheduled\\)"):
            await uow.broadcasts.create("nov", FILE, "f" * 64, "cli", None, now=NOW)
        assert [b.name for b in await uow.broadcasts.list()] == ["nov"]


async def test_statuses_move_only_as_allowed(sessions):
    broadcast_id = await made(sessions, recipients=(1, 2, 3))
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        with pytest.raises(BroadcastError, match="draft: it cannot become done"):
            await uow.broadcasts.set_status(broadcast, "done", now=NOW)
        await uow.broadcasts.set_status(broadcast, "sending", now=NOW)
        await uow.broadcasts.set_status(broadcast, "paused", now=NOW + timedelta(minutes=1))
        await uow.broadcasts.set_status(broadcast, "sending", now=NOW + timedelta(minutes=2))
        assert broadcast.started_at == NOW  # the first start
        await uow.commit()
    async with UnitOfWork(sessions) as uow:  # another process read it as paused: refused
        broadcast = await uow.broadcasts.get(broadcast_id)
        set_committed_value(broadcast, "status", "paused")
        with pytest.raises(BroadcastError, match="changed meanwhile"):
            await uow.broadcasts.set_status(broadcast, "cancelled", now=NOW)
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        assert broadcast.status == "sending"
        await uow.broadcasts.set_status(broadcast, "cancelled", now=NOW + timedelta(hours=1))
        with pytest.raises(BroadcastError, match="nothing, it is over"):
            await uow.broadcasts.set_status(broadcast, "sending", now=NOW)
        await uow.commit()
    async with sessions() as session:
        found = await results(session, broadcast_id)
    assert found["status"] == "cancelled" and found["finished_at"] == (
        NOW + timedelta(hours=1)).isoformat()
    assert found["skipped_by"]["cancelled"] == 3 and found["pending"] == 0


async def test_recipients_are_written_in_batches_once_each(sessions):
    broadcast_id = await made(sessions, recipients=(1, 2, 3, 4, 5))
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        total = await uow.broadcasts.write_recipients(broadcast, people(4, 5, 6), due_at=NOW)
        await uow.commit()
    assert total == 6
    async with sessions() as session:
        rows = list((await session.execute(select(BroadcastRecipient).order_by(
            BroadcastRecipient.user_id))).scalars())
    assert [(r.user_id, r.language, r.status) for r in rows][:2] == [
        (1, "ru", "pending"), (2, "", "pending")]
    assert len(rows) == 6 and all(r.tapped == [] for r in rows)


async def test_due_takes_pending_recipients_once_across_sessions(sessions):
    """Two writers at once: on PostgreSQL each takes rows the other has not locked (SKIP
    LOCKED); on SQLite (one writer at a time) the second sees what the first left."""
    broadcast_id = await made(sessions, recipients=tuple(range(1, 7)))
    async with UnitOfWork(sessions) as uow:
        later = await uow.broadcasts.due(broadcast_id, NOW, limit=1)
        later[0].due_at = NOW + timedelta(hours=1)  # quiet hours moved it
        await uow.commit()
    first, second = sessions(), sessions()
    try:
        await first.begin()
        taken = await Broadcasts(first).due(broadcast_id, NOW, limit=3)
        assert [r.user_id for r in taken] == [2, 3, 4]
        if first.get_bind().dialect.name == "postgresql":
            await second.begin()
            other = await Broadcasts(second).due(broadcast_id, NOW, limit=10)
            assert [r.user_id for r in other] == [5, 6]
            await second.rollback()
    finally:
        await first.rollback()
        await first.close()
        await second.close()
    async with UnitOfWork(sessions) as uow:
        assert len(await uow.broadcasts.due(broadcast_id, NOW + timedelta(hours=2))) == 6


async def queue(sessions, broadcast_id: int, outcomes: dict[int, tuple[str, str | None]]
                ) -> None:
    """Queues these recipients with an outbox row each in the given (status, error)."""
    async with UnitOfWork(sessions) as uow:
        for recipient in await uow.broadcasts.due(broadcast_id, NOW, limit=100):
            if recipient.user_id not in outcomes:
                continue
            status, error = outcomes[recipient.user_id]
            row = OutboxMessage(chat_id=recipient.chat_id, lane="bulk", method="sendMessage",
                                payload={"text": "Hi"}, purpose="bulk", marketing=True,
                                status=status, error=error,
                                sent_at=NOW if status == "sent" else None)
            uow.outbox.add(row)
            await uow.session.flush()
            uow.broadcasts.queue(recipient, row.id, NOW - timedelta(minutes=1))
        await uow.commit()


async def test_results_join_the_outbox(sessions):
    async with sessions() as session:
        for user_id in (1, 2):
            await person(session, user_id)
        conversation = await person(session, 3, source="broadcast:nov",
                                    lead={"temperature": "hot"})
        await person(session, 4, source="broadcast:nov",
                     lead={"temperature": "cold", "contact": False})  # out of area
        await person(session, 5, source="broadcast:other", lead={"temperature": "hot"})
        await session.commit()
    broadcast_id = await made(sessions, recipients=tuple(range(1, 11)))
    await queue(sessions, broadcast_id, {
        1: ("sent", None), 2: ("sent", None),
        3: ("dropped", "Forbidden: bot was blocked by the user"),
        4: ("dropped", "blocked by the prospect"), 5: ("failed", "Bad Request: chat not found"),
        6: ("dropped", "consent withdrawn"), 7: ("sending", None), 8: ("pending", None),
        10: ("failed", "unknown: timeout")})  # Telegram never answered: maybe delivered
    async with UnitOfWork(sessions) as uow:
        recipient = await uow.broadcasts.recipient(broadcast_id, 9)
        uow.broadcasts.skip(recipient, "stopped")
        assert await uow.broadcasts.tap(broadcast_id, 1, 0) is True
        assert await uow.broadcasts.tap(broadcast_id, 1, 0) is False
        assert await uow.broadcasts.tap(broadcast_id, 1, 2) is True
        assert await uow.broadcasts.tap(broadcast_id, 2, 2) is True
        assert await uow.broadcasts.tap(broadcast_id, 77, 2) is None
        assert await uow.broadcasts.unsubscribed(broadcast_id, 2, NOW) is True
        assert await uow.broadcasts.unsubscribed(broadcast_id, 2, NOW) is False
        assert await uow.broadcasts.pending_in_outbox(broadcast_id) == 2  # 7 sending, 8
        with pytest.raises(BroadcastError, match="unknown reason"):
            uow.broadcasts.skip(recipient, "bored")
        await uow.commit()
    async with sessions() as session:
        found = await results(session, broadcast_id)
        with pytest.raises(LookupError):
            await results(session, broadcast_id + 1)
    assert conversation.id is not None
    assert {k: found[k] for k in ("recipients", "queued", "pending", "skipped")} == {
        "recipients": 10, "queued": 9, "pending": 0, "skipped": 1}
    assert found["skipped_by"]["stopped"] == 1
    assert {k: found[k] for k in ("delivered", "blocked", "failed", "dropped", "unknown",
                                  "waiting")} == {
        "delivered": 2, "blocked": 2, "failed": 1, "dropped": 1, "unknown": 2, "waiting": 1}
    assert found["unsubscribed"] == 1 and found["tapped"] == {"0": 1, "2": 2}
    assert found["flows_started"] == 2 and found["leads"] == 1  # a lead with a contact


async def test_sent_since_counts_the_broadcasts_that_reached_them(sessions):
    first = await made(sessions, "first", recipients=(1, 2))
    second = await made(sessions, "second", recipients=(1,))
    third = await made(sessions, "third", recipients=(1,))
    await queue(sessions, first, {1: ("sent", None), 2: ("sent", None)})
    await queue(sessions, second, {1: ("sending", None)})  # maybe delivered: counted
    await queue(sessions, third, {1: ("dropped", "consent withdrawn")})
    async with UnitOfWork(sessions) as uow:
        assert await uow.broadcasts.sent_since(1, NOW - timedelta(days=7)) == [
            NOW - timedelta(minutes=1), NOW]
        assert await uow.broadcasts.sent_since(1, NOW - timedelta(seconds=1)) == [NOW]
        assert await uow.broadcasts.sent_since(3, NOW - timedelta(days=7)) == []


async def test_erasure_skips_their_pending_recipients_and_mydata_lists_them(sessions):
    async with sessions() as session:
        for user_id in (1, 2):
            await person(session, user_id, lead={"name": "Ann", "phone": "+79110000000",
                                                 "temperature": "hot"})
        await session.commit()
    sent = await made(sessions, "sent", recipients=(1, 2))
    await queue(sessions, sent, {1: ("sent", None)})
    await made(sessions, "waiting", recipients=(1, 2))
    async with UnitOfWork(sessions) as uow:
        assert await uow.broadcasts.tap(sent, 1, 1)
        mine = await export(uow, 1, NOW)
    assert mine["broadcasts"] == [
        {"name": "sent", "status": "delivered", "when": NOW.isoformat(), "tapped": [1],
         "unsubscribed_at": None},
        {"name": "waiting", "status": "pending", "when": NOW.isoformat(), "tapped": [],
         "unsubscribed_at": None}]
    async with UnitOfWork(sessions) as uow:
        receipt = await erase(uow, 1, now=NOW, reason="request")
        await uow.commit()
    assert receipt.broadcasts == 1 and receipt.as_dict()["broadcasts"] == 1
    async with sessions() as session:
        rows = list((await session.execute(select(BroadcastRecipient).where(
            BroadcastRecipient.user_id == 1).order_by(BroadcastRecipient.id))).scalars())
        kept = (await session.execute(select(BroadcastRecipient.status).where(
            BroadcastRecipient.user_id == 2))).scalars().all()
        event = (await session.execute(select(Event).where(Event.kind == "erased"))
                 ).scalar_one()
        lead = (await session.execute(select(Lead).where(Lead.user_id == 1))).scalar_one()
    assert [(r.status, r.reason) for r in rows] == [("queued", None), ("skipped", "erased")]
    assert kept == ["pending", "pending"]  # another person's: untouched
    assert event.data["broadcasts"] == 1 and lead.phone is None
    async with UnitOfWork(sessions) as uow:
        mine = await export(uow, 1, NOW)
    assert [(b["name"], b["status"], b.get("reason")) for b in mine["broadcasts"]] == [
        ("sent", "delivered", None), ("waiting", "skipped", "erased")]


async def test_retention_skips_them_only_when_their_latest_conversation_goes(sessions):
    async with sessions() as session:
        old = await person(session, 1)
        new = await person(session, 1, new_prospect=False, consents=())
        await session.commit()
    broadcast_id = await made(sessions, recipients=(1,))
    async with UnitOfWork(sessions) as uow:
        receipt = await erase(uow, 1, now=NOW, reason="retention", conversation_ids=[old.id])
        assert receipt.broadcasts == 0
        receipt = await erase(uow, 1, now=NOW, reason="retention", conversation_ids=[new.id])
        assert receipt.broadcasts == 1
        await uow.commit()
    async with sessions() as session:
        found = await results(session, broadcast_id)
        erased = (await session.execute(select(Conversation.erased_at))).scalars().all()
    assert found["skipped_by"]["erased"] == 1 and all(erased)
