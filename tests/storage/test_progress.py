"""Each conversation's `progress` (what the funnel counts of it) against its events, the
history it summarises: kept by the bot turn by turn, and filled by migration 0015 for the
conversations recorded before it; and migration 0017 of the consent ledger going down and
up. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select

from bot.service.core import Service
from bot.service.flows import FlowRegistry
from dialogs.engine.events import ContactShared
from dialogs.rules.funnel import marked
from storage.db.engine import sessionmaker
from storage.db.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.reports.funnel import funnels
from storage.schema.tables import Conversation, Event
from storage.work.uow import UnitOfWork
from tests.bot.test_service import USER, Prospectus
from tests.conftest import FLOWS_DIR
from tests.databases import own_database
from tests.storage.funnel_history import PERIOD, build

EVERY = [None, "source", "version", "variant", "language", "day"]


async def from_events(sessions) -> dict[int, dict]:
    """conversation id -> its progress, folded from its events in the order written."""
    progress: dict[int, dict] = {}
    async with sessions() as session:
        conversations = (await session.execute(select(Conversation.id))).scalars().all()
        progress = {c: {} for c in conversations}
        for event in (await session.execute(
                select(Event).where(Event.conversation_id.is_not(None)).order_by(Event.id))
                ).scalars():
            progress[event.conversation_id] = marked(
                progress[event.conversation_id], event.kind, event.step,
                event.data.get("purpose"))
    return progress


async def kept(sessions) -> dict[int, dict]:
    async with sessions() as session:
        return dict((await session.execute(select(Conversation.id, Conversation.progress))).all())


async def test_the_bot_keeps_the_progress_its_events_record(sessions):
    service = Service(sessions, FlowRegistry.from_dir(FLOWS_DIR))
    prospect = Prospectus(service)
    await prospect.start("kitchen-quiz__ads")
    await prospect.tap("~go")
    await prospect.tap("city")
    await prospect.tap("~back")  # back to the first question, answered again
    for option in ("city", "island", "large", "veneer", "~done", "month", "~yes", "~mkno"):
        await prospect.tap(option)
    await prospect.text("Ivan")
    await prospect.send(event=ContactShared("79161234567", USER, USER))
    other = Prospectus(service, user_id=77)
    await other.start("kitchen-quiz")
    await other.tap("~go")
    progress = await kept(sessions)
    assert progress == await from_events(sessions)
    first, second = progress.values()
    assert first["answered"][:2] == ["location", "layout"]  # once each, in order
    assert first["answered"].count("location") == 1
    assert first["consent"] is True and first["contact"] is True
    assert "consent" not in second and second["reached"][:2] == ["intro", "location"]


def _migrate(connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def own_engine(request, tmp_path):
    """A database of this test's own: it goes down to an older revision and back."""
    async with own_database(request.param, tmp_path, "progress") as engine:
        yield engine


async def test_the_migration_fills_progress_from_the_events(own_engine):
    """The funnel's history built at head, then down to 0014 (no progress column) and up
    again: 0015 fills each conversation's progress from its events, and every grouping of
    the funnel counts what it counted before."""
    await upgrade(own_engine)
    sessions = sessionmaker(own_engine)
    async with UnitOfWork(sessions) as uow:
        await build(uow)
        await uow.commit()
    before = await kept(sessions)
    assert before == await from_events(sessions) and any(before.values())
    async with sessions() as session:
        counted = await funnels(session, PERIOD, EVERY)

    async with own_engine.begin() as connection:
        await connection.run_sync(_migrate, "0014", True)
    async with own_engine.connect() as connection:
        columns = await connection.run_sync(
            lambda c: {column["name"] for column in inspect(c).get_columns("conversations")})
        indexes = await connection.run_sync(
            lambda c: {index["name"] for index in inspect(c).get_indexes("events")})
    assert "progress" not in columns and "ix_events_conversation_kind" in indexes

    await upgrade(own_engine)
    assert await current_revision(own_engine) == head_revision()
    assert await kept(sessions) == before
    async with sessions() as session:
        assert await funnels(session, PERIOD, EVERY) == counted
    async with own_engine.connect() as connection:
        indexes = await connection.run_sync(
            lambda c: {index["name"] for index in inspect(c).get_indexes("events")})
    assert "ix_events_conversation_kind" not in indexes


async def test_migration_0017_goes_down_and_up_keeping_the_ledger_append_only(own_engine):
    """0017 down: the operator, channel and message id columns go, the rows and the
    append-only triggers stay; up again: the columns are back (empty on old rows)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    await upgrade(own_engine)
    async with own_engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO prospects (user_id, chat_id, blocked, created_at, updated_at) "
            "VALUES (1, 1, false, '2026-11-23 12:00:00', '2026-11-23 12:00:00')"))
        await connection.execute(text(
            "INSERT INTO consents (user_id, purpose, granted, policy_version, text_sha256, "
            "language, created_at, operator, channel, message_id) VALUES (1, 'processing', "
            "true, '1', 'a', 'en', '2026-11-23 12:00:00', 'Demo Ltd', 'telegram', 7)"))

    def columns(connection) -> set[str]:
        return {column["name"] for column in inspect(connection).get_columns("consents")}

    async with own_engine.begin() as connection:
        await connection.run_sync(_migrate, "0016", True)
    async with own_engine.connect() as connection:
        assert not {"operator", "channel", "message_id"} & await connection.run_sync(columns)
        assert (await connection.execute(text("SELECT count(*) FROM consents"))).scalar() == 1
    async with own_engine.begin() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(text("UPDATE consents SET granted = false"))
    await upgrade(own_engine)
    assert await current_revision(own_engine) == head_revision()
    async with own_engine.connect() as connection:
        assert {"operator", "channel", "message_id"} <= await connection.run_sync(columns)
    async with own_engine.begin() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(text("DELETE FROM consents"))
