"""Erasure that leaves nothing behind: one prospect through everything that stores or sends
their data (two quizzes, typed answers kept and not understood, consent, contact details,
two hand-off cards, an SLA reminder and an escalation, a claim, a status, the relay both
ways, follow-ups queued, a card held for a manager who never opened the chat), then /forget
or the retention job; afterwards every column of every table, the SQLite files and the
DEBUG logs are searched (tests/e2e/traces.py), on SQLite and on PostgreSQL, and so is every
message every managers' chat shows in Telegram (the fake's, after the edits): text,
entities, buttons."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import logsafe
from bot.jobs.handoff_timers import handoff_timers
from bot.jobs.pruning import prune
from bot.jobs.retention import anonymise_expired
from bot.logsafe import configure_logging
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.tables import Event, FollowUp, Handoff, OutboxMessage, utcnow
from tests.e2e.conftest import bot_running
from tests.e2e.harness import eventually
from tests.e2e.test_handoff import (
    ANNA,
    BORIS,
    ESCALATION,
    GROUP,
    manager_says,
    manager_tap,
    push,
)
from tests.e2e.test_privacy import confirm
from tests.e2e.traces import Person, every_column, traces

OLENA = Person(phone="+380671234567", email="olena.k@gmail.com",
               names=("Olena Kovalchuk", "Олена Ковальчук"))
PROSPECT = 8201
SETTINGS = {"managers_chat_id": GROUP, "managers_language": "en",
            "escalation_chat_id": ESCALATION,
            "manager_ids": [ANNA, BORIS], "sla_minutes": {"hot": 5, "warm": 5},
            "handoff_also": ["warm"]}


async def everything(running, prospect) -> int:
    """The journey that reaches every place personal data is kept or sent. Returns the id
    of Anna's copy of the lead in her chat (replying to it writes to the client)."""
    telegram = running.telegram
    telegram.closed_chats.add(BORIS)  # Boris never started the bot: his copy will wait
    # 1. the checklist: Latin name, email, phone; warm, nurtured (follow-ups), handed off
    await prospect.start("renovation-checklist__ads")
    for option in ("continue", "planning", "quarter", "maybe", "agree", "marketing_yes"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send(OLENA.names[0])
    await prospect.send(OLENA.email)
    await prospect.share_contact(OLENA.phone)
    # 2. the kitchen quiz: Cyrillic name, phone; hot, handed off
    await prospect.start("kitchen-quiz__instagram")
    await prospect.tap(option=TAP_WORDS["continue"])
    # typed, not tapped (docs/typed.md): text nothing matched is kept (unmatched_texts),
    # an option typed keeps what was typed on the answer (answers.typed); both name her
    await prospect.send(f"{OLENA.names[1]}, хочу кухню")
    await prospect.send(f"у місті, пише {OLENA.names[1]}")
    for option in ("island", "large", "veneer", "appliances",
                   "lighting", "done", "month", "agree", "marketing_yes"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send(OLENA.names[1])
    await prospect.share_contact(OLENA.phone)
    async with running.app.sessions() as session:
        checklist, kitchen = (await session.execute(select(Handoff).order_by(Handoff.id))
                              ).scalars().all()
        assert (await session.execute(select(FollowUp))).scalars().all()  # queued
    # 3. nobody claims in time: the SLA reminder repeats both cards in the group
    assert await handoff_timers(running.app, utcnow() + timedelta(minutes=6)) == 2
    await running.settle()
    # 3b. still nobody: both are escalated to the escalation chat
    assert await handoff_timers(running.app, utcnow() + timedelta(minutes=12)) == 2
    await running.settle()
    assert len(telegram.texts(ESCALATION)) == 2
    # 4. Boris claims the checklist lead: his private copy waits for him
    await push(running, manager_tap(running, BORIS, f"claim:{checklist.id}",
                                    first_name="Boris"))
    # 5. Anna claims the kitchen lead, sets a status, and talks with the client
    await push(running, manager_tap(running, ANNA, f"claim:{kitchen.id}"))
    await push(running, manager_tap(running, ANNA, f"lead:{kitchen.id}:contacted",
                                    chat_id=ANNA, message_id=77))
    async with running.app.sessions() as session:
        copy = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == ANNA, OutboxMessage.purpose == "lead",
            OutboxMessage.lead_id == kitchen.lead_id))
        ).scalar_one()
    await push(running, manager_says(ANNA, "Добрий день! Коли зручно подзвонити?",
                                     copy.telegram_message_id))
    await prospect.send("Завтра о 10, мій номер 067 123 45 67, пошта OLENA.K@gmail.com")
    assert "067 123 45 67" in telegram.texts(ANNA)[-1]  # the relay reached Anna
    assert telegram.texts(BORIS) == []
    async with running.app.sessions() as session:
        waiting = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == BORIS))).scalars().all()
    assert [row.status for row in waiting] == ["waiting"]
    return copy.telegram_message_id


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request):
    return request.param


@pytest.mark.parametrize("how", ["forget", "retention", "forget after pruning"])
async def test_nothing_personal_survives_erasure(backend, how, telegram, tmp_path,
                                                 monkeypatch):
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(backend, tmp_path)
    await engine.dispose()
    # the logs must be clean without the filter's last net of remembered names
    monkeypatch.setattr(logsafe.PersonalDataFilter, "remember", lambda self, *names: None)
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    sql_log = logging.getLogger("sqlalchemy.engine")
    sql_log.setLevel(logging.DEBUG)  # statements and rows too, as an operator might
    try:
        async with bot_running(telegram, await database_url(backend, tmp_path),
                               **SETTINGS) as running:
            prospect = running.prospect(PROSPECT, "uk")
            annas_copy = await everything(running, prospect)
            assert shown_to_managers(running)  # the search finds them before erasure
            before = await traces(OLENA, running.app.engine, "")
            stored = await every_column(running.app.engine)
            for table in ("unmatched_texts", "answers"):  # typed words, before erasure
                assert any(line.startswith(f"{table}: ") and "Ковальчук" in line
                           for line in stored.splitlines()), table
            # the search sees every form of every value before erasure
            assert len(before["database"]) == len(OLENA.patterns()), before["database"]
            if backend == "sqlite":
                assert before["files"], "the raw files are searched too"
            if how == "forget after pruning":  # a month on: what erasure edits is kept
                await prune(running.app, now=utcnow() + timedelta(days=30))
            if how.startswith("forget"):
                await confirm(prospect, "forget")
            else:
                assert await anonymise_expired(running.app,
                                               utcnow() + timedelta(days=400)) == 2
            await running.settle()
            # after erasure: Boris opens the chat, Anna writes again; nothing arrives
            await push(running, {"message": {
                "message_id": 1, "date": 0, "chat": {"id": BORIS, "type": "private"},
                "from": {"id": BORIS, "is_bot": False, "first_name": "Boris"},
                "text": "/start manager",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
            assert not any("lead" in t for t in running.telegram.texts(BORIS))
            said = len(prospect.said())
            await push(running, manager_says(ANNA, "Алло?", annas_copy))
            assert not any("Алло" in t for t in prospect.said()[said:])
            assert running.telegram.texts(ANNA)[-1].startswith("The client's data has been erased")
            found = await traces(OLENA, running.app.engine, stream.getvalue())
            in_telegram = shown_to_managers(running)
            assert running.telegram.violations == []  # the edits kept Telegram's limits
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
        sql_log.setLevel(logging.WARNING)
    assert "SELECT" in stream.getvalue()  # the logs really were at DEBUG, SQL included
    assert found == {}
    assert in_telegram == {}


MANAGERS_CHATS = (GROUP, ESCALATION, ANNA, BORIS)


def shown_to_managers(running) -> dict[tuple[int, int], list[str]]:
    """What the managers' chats still show of the prospect in Telegram, by (chat, message):
    their name, phone or email in a message's final text, entities or buttons, or a link
    to their account."""
    found = {}
    for chat_id in MANAGERS_CHATS:
        for message_id, message in running.telegram.shown(chat_id).items():
            seen = json.dumps(message, ensure_ascii=False)
            hits = OLENA.found_in(seen)
            if f"tg://user?id={PROSPECT}" in seen or f'"id": {PROSPECT}' in seen:
                hits.append("a link to their Telegram account")
            if hits:
                found[(chat_id, message_id)] = hits
    return found


@pytest.mark.parametrize("how", ["forget", "retention"])
async def test_what_telegram_would_not_let_the_bot_edit_is_in_the_receipt(
        backend, how, telegram, tmp_path):
    """The bot was removed from the escalation chat, and Anna deleted the client's relayed
    message: every other message is edited, and the receipt lists those two (chat, message,
    why), nothing personal in it."""
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(backend, tmp_path)
    await engine.dispose()
    async with bot_running(telegram, await database_url(backend, tmp_path),
                           **SETTINGS) as running:
        prospect = running.prospect(PROSPECT, "uk")
        await everything(running, prospect)
        [relayed] = [m for m, shown in telegram.shown(ANNA).items()  # the client's words
                     if shown["text"].startswith("💬")]
        assert OLENA.phone[-2:] in telegram.shown(ANNA)[relayed]["text"]
        telegram.deleted.add((ANNA, relayed))
        telegram.removed_chats.add(ESCALATION)
        escalations = sorted(telegram.shown(ESCALATION))
        if how == "forget":
            await confirm(prospect, "forget")
        else:
            assert await anonymise_expired(running.app, utcnow() + timedelta(days=400)) == 2
        await running.settle()

        async def receipts() -> list[dict]:
            async with running.app.sessions() as session:
                return [e.data for e in (await session.execute(select(Event).where(
                    Event.kind == "erased").order_by(Event.id))).scalars()]

        def listed(found: list[dict]) -> set[tuple]:
            return {(u["chat"], u["message"], u["reason"]) for data in found
                    for u in data.get("unedited", ())}

        expected = {(ANNA, relayed, "deleted")} | {(ESCALATION, m, "removed")
                                                   for m in escalations}
        with contextlib.suppress(AssertionError):  # the comparison below says what is missing
            await eventually(lambda: _gets(receipts, listed, expected), what="the receipt")
        found = await receipts()
        assert listed(found) == expected
        assert sum(data["edited"] for data in found) >= 4  # copies, status, relay, reminders
        assert OLENA.found_in(json.dumps(found, ensure_ascii=False)) == []
        # the rest was edited: only the escalation chat still shows the client
        telegram.removed_chats.clear()
        left = set(shown_to_managers(running))
        assert {chat for chat, _ in left} <= {ESCALATION}
        assert left, "the escalations could not be edited"


async def _gets(receipts, listed, expected) -> bool:
    return listed(await receipts()) >= expected


async def test_the_search_finds_a_new_place_that_keeps_personal_data(tmp_path):
    """A table nobody taught erasure about (here made by hand) is found, in its column and
    in the raw file, in any of the forms a value takes."""
    from sqlalchemy import text

    from tests.databases import fresh_engine

    engine = await fresh_engine("sqlite", tmp_path)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE shadow (note JSON)"))
            await connection.execute(text("INSERT INTO shadow VALUES (:note)"), {
                "note": '{"who": "\\u041e\\u043b\\u0435\\u043d\\u0430", "tel": "067-123-45-67"}'})
        found = await traces(OLENA, engine, "")
    finally:
        await engine.dispose()
    assert [hit.split(":")[0] for hit in found["database"]] == ["phone", "name 'Олена'"]
    assert found["files"]


async def test_a_managers_own_data_export_holds_no_client_of_theirs(telegram, tmp_path):
    """A manager's /mydata is their own data: the clients' cards, copies and relayed words in
    their chat are the clients' (a file Telegram cannot edit, that no erasure could reach)."""
    from tests.e2e.test_privacy import exports

    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", **SETTINGS) as running:
        await everything(running, running.prospect(PROSPECT, "uk"))
        anna = running.prospect(ANNA, "en")
        await confirm(anna, "mydata")
        await running.settle()
        [export] = exports(running, ANNA)
    assert export["telegram_user_id"] == ANNA and export["messages"]  # her own are there
    assert OLENA.found_in(json.dumps(export, ensure_ascii=False)) == []
    assert f'"user_id": {PROSPECT}' not in json.dumps(export)
