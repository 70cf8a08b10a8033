"""Typed answers in the database (docs/typed.md "What is stored and erased", "The report"):
answers.typed and unmatched_texts written from the engine's actions, shown by /mydata,
gone after erasure (and retention, conversation by conversation), counted by the report;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select

from dialogs.engine.actions import FaqHit, RecordAnswer, Unmatched
from storage.db.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.privacy.erasure import erase
from storage.privacy.rights import export
from storage.record import Recorder
from storage.reports.period import FunnelQuery
from storage.reports.typed import faq_hits, normalised, unmatched
from storage.schema.tables import Answer, Event, UnmatchedText
from storage.work.uow import UnitOfWork
from tests.databases import own_database
from tests.storage.broadcast_people import NOW, person


def _migrate(connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def own_engine(request, tmp_path):
    async with own_database(request.param, tmp_path, "typed") as engine:
        yield engine


async def test_migration_0024_goes_down_and_up(own_engine):
    await upgrade(own_engine)
    assert await current_revision(own_engine) == head_revision() == "0026"

    def shape(connection) -> tuple[set[str], set[str]]:
        found = inspect(connection)
        return (set(found.get_table_names()),
                {c["name"] for c in found.get_columns("answers")})

    async with own_engine.begin() as connection:
        await connection.run_sync(_migrate, "0023", True)
    async with own_engine.connect() as connection:
        tables, columns = await connection.run_sync(shape)
    assert "unmatched_texts" not in tables and "typed" not in columns
    await upgrade(own_engine)
    async with own_engine.connect() as connection:
        tables, columns = await connection.run_sync(shape)
    assert "unmatched_texts" in tables and "typed" in columns


async def said(sessions, conversation, *actions, when=NOW) -> None:
    async with UnitOfWork(sessions) as uow:
        await Recorder(uow, conversation, when, None).record(list(actions))
        await uow.commit()


TYPED = RecordAnswer(step="layout", value="corner", label="Угловая", points=5,
                     typed='"угловую" -> corner (lemma)')


async def test_typed_answers_unmatched_texts_and_faq_hits_are_recorded(sessions):
    async with sessions() as session:
        ann = await person(session, 1)
        await session.commit()
    await said(sessions, ann, TYPED, FaqHit(step="layout", entry="measuring"),
               Unmatched(step="layout", text="а доставка есть?", language="ru"))
    async with sessions() as session:
        answer = (await session.execute(select(Answer))).scalar_one()
        kept = (await session.execute(select(UnmatchedText))).scalar_one()
        faq = (await session.execute(select(Event).where(Event.kind == "faq"))).scalar_one()
    assert (answer.value, answer.points, answer.typed) == ("corner", 5, TYPED.typed)
    assert (kept.conversation_id, kept.user_id, kept.flow_id, kept.flow_version, kept.step,
            kept.language, kept.text) == (ann.id, 1, "kitchen-quiz", 1, "layout", "ru",
                                          "а доставка есть?")
    assert (faq.step, faq.data, faq.conversation_id) == ("layout", {"entry": "measuring"},
                                                         ann.id)


async def test_mydata_shows_them_and_erasure_leaves_nothing_of_them(sessions):
    async with sessions() as session:
        ann = await person(session, 1, lead={"name": "Ann", "phone": "+79110000000"})
        bob = await person(session, 2)
        await session.commit()
    for conversation in (ann, bob):
        await said(sessions, conversation, TYPED,
                   Unmatched(step="layout", text="Ann asks about delivery?", language="en"))
    async with UnitOfWork(sessions) as uow:
        mine = await export(uow, 1, NOW)
    assert [a["typed"] for a in mine["answers"]] == [TYPED.typed]
    assert [u["text"] for u in mine["unmatched_texts"]] == ["Ann asks about delivery?"]
    async with UnitOfWork(sessions) as uow:
        receipt = await erase(uow, 1, now=NOW, reason="request")
        await uow.commit()
    assert (receipt.typed, receipt.unmatched) == (1, 1)
    async with sessions() as session:
        answers = {a.conversation_id: a for a in (await session.execute(select(Answer))
                                                  ).scalars()}
        left = (await session.execute(select(UnmatchedText.user_id))).scalars().all()
        event = (await session.execute(select(Event).where(Event.kind == "erased"))
                 ).scalar_one()
    assert answers[ann.id].typed is None and answers[ann.id].value == "corner"  # still counted
    assert answers[bob.id].typed == TYPED.typed and left == [2]  # another person's: kept
    assert (event.data["typed"], event.data["unmatched"]) == (1, 1)
    async with UnitOfWork(sessions) as uow:
        mine = await export(uow, 1, NOW)
    assert mine["unmatched_texts"] == [] and [a["typed"] for a in mine["answers"]] == [None]


async def test_retention_takes_the_unmatched_texts_of_the_conversations_it_erases(sessions):
    async with sessions() as session:
        old = await person(session, 1)
        new = await person(session, 1, new_prospect=False, consents=())
        await session.commit()
    for conversation in (old, new):
        await said(sessions, conversation, TYPED,
                   Unmatched(step="layout", text="сколько стоит доставка?", language="ru"))
    async with UnitOfWork(sessions) as uow:
        receipt = await erase(uow, 1, now=NOW, reason="retention", conversation_ids=[old.id])
        await uow.commit()
    assert (receipt.typed, receipt.unmatched) == (1, 1)
    async with sessions() as session:
        left = (await session.execute(select(UnmatchedText.conversation_id))).scalars().all()
        typed = dict((await session.execute(select(Answer.conversation_id, Answer.typed))
                      ).all())
    assert left == [new.id] and typed == {old.id: None, new.id: TYPED.typed}


def test_the_same_text_however_written_is_one():
    assert normalised("  А доставка ЕСТЬ?! ") == normalised("а доставка есть") == (
        "а доставка есть")
    assert normalised("Ёлка") == normalised("елка")
    assert normalised("мой [number]") == "мой [number]"  # the mask's marks stay readable


async def test_the_unmatched_report_groups_and_counts_most_frequent_first(sessions):
    async with sessions() as session:
        people = [await person(session, i, flow="kitchen-quiz" if i < 4 else "other")
                  for i in range(1, 5)]
        await session.commit()
    for i, conversation in enumerate(people[:3]):
        await said(sessions, conversation, Unmatched(
            step="layout", text=["А доставка есть?", "а доставка есть", "Доставка есть?"][i],
            language="ru"))
    await said(sessions, people[0], Unmatched(step="layout", text="а доставка есть?!",
                                              language="uk"))
    await said(sessions, people[1], Unmatched(step="size", text="who are you?",
                                              language="en"))
    await said(sessions, people[3], Unmatched(step="size", text="who are you?",
                                              language="en"))
    await said(sessions, people[2], Unmatched(step="size", text="long ago?", language="en"),
               when=NOW - timedelta(days=40))
    async with sessions() as session:
        groups = await unmatched(session, NOW - timedelta(days=30), "kitchen-quiz")
        everything = await unmatched(session, NOW - timedelta(days=60))
    assert [(g.step, g.text, g.count, g.people, g.languages) for g in groups] == [
        ("layout", "А доставка есть?", 3, 2, ("ru", "uk")),  # the first of the most frequent
        ("layout", "Доставка есть?", 1, 1, ("ru",)),
        ("size", "who are you?", 1, 1, ("en",))]
    assert len(everything) == 5 and {g.flow for g in everything} == {"kitchen-quiz", "other"}


async def test_faq_hits_are_counted_per_entry_for_the_period(sessions):
    async with sessions() as session:
        ann, bob = await person(session, 1), await person(session, 2)
        other = await person(session, 3, flow="other")
        await session.commit()
    await said(sessions, ann, FaqHit("layout", "measuring"), FaqHit("size", "measuring"),
               FaqHit("size", "warranty"))
    await said(sessions, bob, FaqHit("layout", "measuring"))
    await said(sessions, other, FaqHit("layout", "measuring"))
    query = FunnelQuery(flow="kitchen-quiz", since=date(2026, 11, 1), until=date(2026, 11, 30))
    async with sessions() as session:
        hits = await faq_hits(session, query)
    assert hits == [
        {"entry": "measuring", "hits": 3, "people": 2, "steps": {"layout": 2, "size": 1}},
        {"entry": "warranty", "hits": 1, "people": 1, "steps": {"size": 1}}]
