"""One contract suite, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from storage.db.migrate import current_revision, head_revision, upgrade
from storage.schema.tables import Conversation, FollowUp, OutboxMessage, Prospect
from storage.work.uow import UnitOfWork

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_migrations_reach_head_and_can_run_again(engine):
    assert await current_revision(engine) == head_revision()
    await upgrade(engine)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"prospects", "conversations", "outbox", "consents", "processed_updates"} <= tables


async def test_the_migrations_build_what_the_tables_declare(engine):
    """Alembic's autogenerate finds nothing between the migrated database and the models
    (a column added to a table and forgotten in its migration fails here), on each
    database. Known: follow_ups.text is a sealed VARCHAR, the same column either way."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    def differences(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as connection:
        found = await connection.run_sync(differences)
    found = [d for d in found if not (isinstance(d, list) and d[0][0] == "modify_type"
                                      and d[0][2:4] == ("follow_ups", "text"))]
    assert found == []


async def add_prospect(sessions, user_id: int = 1) -> None:
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=user_id, chat_id=user_id, language="uk"))
        await uow.commit()


async def test_nothing_happens_without_commit(sessions):
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=5, chat_id=5))
    async with UnitOfWork(sessions) as uow:
        assert await uow.prospects.get(5) is None


async def test_an_update_id_is_recorded_once(sessions):
    async with UnitOfWork(sessions) as uow:
        await uow.updates.record(100, NOW)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert await uow.updates.seen(100)
        with pytest.raises(IntegrityError):
            await uow.updates.record(100, NOW)


async def test_old_update_ids_are_pruned(sessions):
    async with UnitOfWork(sessions) as uow:
        await uow.updates.record(1, NOW - timedelta(hours=49))
        await uow.updates.record(2, NOW - timedelta(hours=1))
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert await uow.updates.prune(NOW - timedelta(hours=48)) == 1
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert not await uow.updates.seen(1) and await uow.updates.seen(2)


async def test_times_come_back_aware_in_utc_and_json_keeps_unicode(sessions):
    await add_prospect(sessions)
    state = {"answers": {"city": "Київ", "extras": ["a", "b"]}, "results": {"price": 1.5}}
    async with UnitOfWork(sessions) as uow:
        conversation = await uow.conversations.add_now(Conversation(
            user_id=1, chat_id=1, flow_id="f", flow_version=1, step="s", state=state,
            started_at=NOW))
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        loaded = await uow.conversations.latest(1)
        assert loaded.id == conversation.id and loaded.state == state
        assert loaded.started_at == NOW and loaded.started_at.tzinfo is not None


async def test_the_prospect_lock_serialises_two_transactions(sessions):
    await add_prospect(sessions)
    order = []

    async def second() -> None:
        async with UnitOfWork(sessions) as uow:
            prospect = await uow.prospects.lock(1)
            order.append(("second", prospect.language))
            await uow.commit()

    async with UnitOfWork(sessions) as first:
        prospect = await first.prospects.lock(1)
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)  # let the second try; it must be blocked, whatever the speed
        assert not waiting.done()
        prospect.language = "en"
        order.append(("first", "en"))
        await first.commit()
    await waiting
    assert order == [("first", "en"), ("second", "en")]


async def test_outbox_heads_keep_per_chat_order_lanes_and_due_times(sessions):
    await add_prospect(sessions)
    rows = [OutboxMessage(chat_id=1, method="sendMessage", payload={"n": 1}),
            OutboxMessage(chat_id=1, method="sendMessage", payload={"n": 2}),
            OutboxMessage(chat_id=2, method="sendMessage", payload={"n": 3},
                          not_before=NOW + timedelta(seconds=30)),
            OutboxMessage(chat_id=1, lane="tap", method="answerCallbackQuery",
                          payload={"n": 4})]
    async with UnitOfWork(sessions) as uow:
        for row in rows:
            row.not_before = min(row.not_before, NOW) if row.chat_id == 1 else row.not_before
            await uow.outbox.add_now(row)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        heads = await uow.outbox.heads(NOW, 10)
        assert [m.payload["n"] for m in heads] == [1, 4]
        heads = await uow.outbox.heads(NOW + timedelta(minutes=1), 10)
        assert [m.payload["n"] for m in heads] == [1, 3, 4]
        assert await uow.outbox.drop_chat(1, "blocked") == 3
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert await uow.outbox.pending_count() == 1


async def test_scheduling_a_follow_up_again_moves_it(sessions):
    await add_prospect(sessions)
    async with UnitOfWork(sessions) as uow:
        conversation = await uow.conversations.add_now(Conversation(
            user_id=1, chat_id=1, flow_id="f", flow_version=1, step="s"))
        for hours in (1, 5):
            await uow.follow_ups.schedule(FollowUp(
                conversation_id=conversation.id, user_id=1, chat_id=1, key="k", text="t",
                due_at=NOW + timedelta(hours=hours)))
            await uow.session.flush()
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        from sqlalchemy import select

        rows = (await uow.session.execute(select(FollowUp))).scalars().all()
        assert [r.due_at for r in rows] == [NOW + timedelta(hours=5)]


async def test_database_errors_do_not_carry_the_values_of_the_statement(sessions):
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=1, chat_id=1))
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=1, chat_id=1, language="+79161234567"[:8]))
        with pytest.raises(IntegrityError) as caught:
            await uow.session.flush()
    assert "+7916123" not in str(caught.value)  # errors reach logs: no personal data
    assert "hidden" in str(caught.value)


async def test_the_consent_ledger_refuses_update_delete_and_truncate(sessions):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from storage.schema.tables import Consent

    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=1, chat_id=1))
        await uow.session.flush()
        uow.stage(Consent, user_id=1, purpose="processing", granted=True,
                  policy_version="1", text_sha256="a" * 64, language="en")
        await uow.commit()
    statements = ["UPDATE consents SET granted = false", "DELETE FROM consents",
                  "DELETE FROM consents WHERE id > 0"]
    if sessions.kw["bind"].dialect.name == "postgresql":  # SQLite has no TRUNCATE
        statements += ["TRUNCATE consents", "TRUNCATE consents RESTART IDENTITY CASCADE"]
    for statement in statements:
        async with UnitOfWork(sessions) as uow:
            with pytest.raises(DBAPIError, match="append-only"):
                await uow.session.execute(text(statement))
    async with UnitOfWork(sessions) as uow:  # a withdrawal is a new row, and that works
        uow.stage(Consent, user_id=1, purpose="processing", granted=False,
                  policy_version="1", text_sha256="a" * 64, language="en")
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert [c.granted for c in await uow.consents.for_user(1)] == [True, False]


async def test_the_consent_ledger_refuses_replacing_a_row_through_an_insert(sessions):
    """SQLite's `INSERT OR REPLACE` / `REPLACE INTO` over an existing id deletes the row
    without firing its DELETE trigger: a BEFORE INSERT trigger (migration 0017) refuses an
    id that exists. An upsert (`ON CONFLICT DO UPDATE`, both databases) is an UPDATE."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from storage.schema.tables import Consent

    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=1, chat_id=1))
        await uow.session.flush()
        uow.stage(Consent, user_id=1, purpose="marketing", granted=True,
                  policy_version="1", text_sha256="a" * 64, language="en")
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        [row] = await uow.consents.for_user(1)
    columns = ("(id, user_id, purpose, granted, policy_version, text_sha256, language, "
               "created_at)")
    values = f"VALUES ({row.id}, 1, 'marketing', false, '1', '{'b' * 64}', 'en', " \
             "'2026-11-23 12:00:00')"
    statements = [f"INSERT INTO consents {columns} {values} "
                  "ON CONFLICT (id) DO UPDATE SET granted = false"]
    if sessions.kw["bind"].dialect.name == "sqlite":
        statements += [f"INSERT OR REPLACE INTO consents {columns} {values}",
                       f"REPLACE INTO consents {columns} {values}",
                       f"INSERT OR IGNORE INTO consents {columns} {values}"]
    for statement in statements:
        async with UnitOfWork(sessions) as uow:
            with pytest.raises(DBAPIError, match="append-only"):
                await uow.session.execute(text(statement))
    async with UnitOfWork(sessions) as uow:
        rows = await uow.consents.for_user(1)
    assert [(r.id, r.granted, r.text_sha256) for r in rows] == [(row.id, True, "a" * 64)]


async def test_rotation_and_the_key_check_cover_every_sealed_column(sessions):
    """A hand-off's card text is sealed like the lead's contact details: rotate-key
    re-encrypts it, and the start-up check samples it (and every other sealed table)."""
    from sqlalchemy import text

    from storage.privacy import rekey as privacy
    from storage.schema import sealing as crypto
    from storage.schema.tables import Handoff, Lead

    old, new = crypto.new_key(), crypto.new_key()
    try:
        crypto.configure(old)
        async with UnitOfWork(sessions) as uow:
            uow.prospects.add(Prospect(user_id=1, chat_id=1))
            await uow.session.flush()
            conversation = await uow.conversations.add_now(Conversation(
                user_id=1, chat_id=1, flow_id="f", flow_version=1, step="s"))
            lead = Lead(conversation_id=conversation.id, user_id=1, flow_id="f",
                        flow_version=1)  # no contact details: only the card holds them
            uow.leads.add(lead)
            await uow.session.flush()
            uow.session.add(Handoff(lead_id=lead.id, conversation_id=conversation.id,
                                    user_id=1, chat_id=-100, temperature="hot",
                                    language="en", submitted_at=datetime.now(UTC),
                                    card_text="Olivia · +79161234567"))
            await uow.commit()
        covered = {model.__tablename__: names for model, names in privacy.sealed_columns()}
        assert covered["handoffs"] == ("card_text",) and "leads" in covered
        crypto.configure(new)  # the old key dropped without rotating: refused at start
        async with UnitOfWork(sessions) as uow:
            samples = await privacy.sealed_samples(uow)
        assert len(samples) == 1
        with pytest.raises(crypto.PiiKeyError):
            crypto.unseal(samples[0])
        crypto.configure(f"{new},{old}")
        async with UnitOfWork(sessions) as uow:
            assert await privacy.reseal(uow) >= 3
            await uow.commit()
        crypto.configure(new)  # rotated: the new key alone opens everything
        async with UnitOfWork(sessions) as uow:
            for sample in await privacy.sealed_samples(uow):
                crypto.unseal(sample)
            handoff = (await uow.session.execute(text("SELECT id FROM handoffs"))).scalar()
            assert (await uow.session.get(Handoff, handoff)).card_text.startswith("Olivia")
    finally:
        crypto.configure(None)


async def test_a_waiting_lock_sees_the_state_the_holder_committed(sessions):
    """The update that waited for the prospect's lock must read the conversation as the
    update before it left it (PostgreSQL: not the state from when it began waiting)."""
    await add_prospect(sessions, 7)
    async with UnitOfWork(sessions) as uow:
        conversation = await uow.conversations.add_now(Conversation(
            user_id=7, chat_id=7, flow_id="f", flow_version=1, step="a", state={"n": 0}))
        await uow.commit()
    holding, waiting = asyncio.Event(), None

    async def first() -> None:
        async with UnitOfWork(sessions) as uow:
            await uow.prospects.lock_with_conversation(7)
            holding.set()
            while waiting is None or not waiting.started:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the second is blocked on the lock meanwhile
            await uow.conversations.save_state(conversation.id, state={"n": 1}, step="b")
            await uow.commit()

    class Second:
        started = False

        async def __call__(self) -> Conversation | None:
            await holding.wait()
            self.started = True
            async with UnitOfWork(sessions) as uow:
                _, current = await uow.prospects.lock_with_conversation(7)
                await uow.commit()
            return current

    waiting = Second()
    _, seen = await asyncio.wait_for(asyncio.gather(first(), waiting()), 60)
    assert seen is not None and (seen.step, seen.state) == ("b", {"n": 1})


async def test_committed_outbox_rows_carry_their_own_ids_in_the_order_staged(sessions):
    """One INSERT for an update's outbox rows (SQLite too): each staged row gets the id of
    the row stored with its payload, after earlier rows and a deleted one left a gap."""
    from sqlalchemy import delete, select

    from storage.schema.tables import OutboxMessage
    from tests.storage.test_trip import Sent

    def row(n: int) -> dict:
        return {"chat_id": n % 3 + 1, "method": "sendMessage",
                "payload": {"text": f"m{n}"}, "step": f"s{n}"}

    async with UnitOfWork(sessions) as uow:
        for n in range(4):
            uow.stage(OutboxMessage, **row(n))
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(delete(OutboxMessage).where(OutboxMessage.step == "s3"))
        await uow.commit()
    with Sent(sessions.kw["bind"]) as sent:  # through SQLAlchemy or asyncpg itself
        async with UnitOfWork(sessions) as uow:
            for n in range(10, 17):
                uow.stage(OutboxMessage, **row(n))
            await uow.commit()
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
    committed = uow.committed_outbox
    assert [r["step"] for r in committed] == [f"s{n}" for n in range(10, 17)]
    assert len(sent.starting("INSERT INTO outbox")) == 1  # one statement, not one per row
    async with UnitOfWork(sessions) as uow:
        stored = {r.id: r.step for r in (await uow.session.execute(
            select(OutboxMessage))).scalars()}
    assert {r["id"]: r["step"] for r in committed}.items() <= stored.items()
    assert len(set(r["id"] for r in committed)) == 7
