"""The prospect's rights through the service on both databases: a flow with a free-text
answer (the prospect's own words are personal data too), and the log filter's shapes."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from bot.logsafe import PersonalDataFilter
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from storage.schema.tables import Answer, Conversation, Event, Lead, OutboxMessage
from storage.work.uow import UnitOfWork
from tests.bot.test_service import Prospectus
from tests.dialogs.flowkit import MINIMAL, t

WORDS = "my flat is at 12 Baker Street, ring twice"


@pytest.fixture
async def service(sessions, tmp_path):
    flow = copy.deepcopy(MINIMAL)
    flow["steps"]["agree"]["next"] = "notes"  # own words: only after consent (the linter)
    flow["steps"]["notes"] = {"kind": "free_text", "text": t("Anything else?"),
                              "next": "contact"}
    flow["steps"]["bye"]["text"] = t("Bye, {name}: {answers.notes}")
    (tmp_path / "demo.yaml").write_text(json.dumps(flow))  # JSON is YAML
    flows = FlowRegistry.from_dir(tmp_path)
    async with UnitOfWork(sessions) as uow:  # as at start (bot/app.py)
        await flows.snapshot(uow)
        await uow.commit()
    return Service(sessions, flows)


async def test_forget_erases_free_text_answers_and_what_echoed_them(service, sessions):
    prospect = Prospectus(service, user_id=555)
    await prospect.start("demo")
    await prospect.tap("a")
    await prospect.tap("~yes")
    await prospect.text(WORDS)
    await prospect.text("Sherlock Holmes")
    await prospect.text("+44 7911 123456")
    async with sessions() as session:
        said = [m.payload.get("text", "") for m in (await session.execute(
            select(OutboxMessage))).scalars()]
    assert any(WORDS in s and "Sherlock Holmes" in s for s in said)  # echoed in "Bye"
    await prospect.send(command="forget")
    await prospect.send(rights_data="rights:forget:yes", callback_query_id="cb-f",
                        message_id=9)
    async with sessions() as session:
        answers = list((await session.execute(select(Answer))).scalars())
        lead = (await session.execute(select(Lead))).scalar_one()
        conversation = (await session.execute(select(Conversation))).scalar_one()
        outbox = list((await session.execute(select(OutboxMessage))).scalars())
        receipt = (await session.execute(select(Event).where(Event.kind == "erased"))
                   ).scalar_one()
    notes = next(a for a in answers if a.step == "notes")
    assert (notes.value, notes.label) == (None, "[erased]")
    assert next(a for a in answers if a.step == "ask").value == "a"  # not personal: kept
    assert (lead.name, lead.phone, lead.score) == (None, None, 10)
    assert conversation.state["answers"]["notes"] == "[erased]"
    assert conversation.state["contact"] == {} and conversation.finished
    dumped = json.dumps([m.payload for m in outbox], ensure_ascii=False)
    assert WORDS not in dumped and "Sherlock Holmes" not in dumped and "7911" not in dumped
    assert receipt.data == {"reason": "request", "conversations": 1, "leads": 1,
                            "answers": 1, "messages": receipt.data["messages"],
                            "follow_ups": 0, "broadcasts": 0, "typed": 0, "unmatched": 0,
                            "edited": 0}  # no manager was shown them
    # the confirmation was edited in place to show the choice, buttons gone
    edit = next(m for m in outbox if m.method == "editMessageText" and "message_id" in m.payload)
    assert edit.payload["message_id"] == 9 and "Yes, erase" in edit.payload["text"]


@pytest.mark.parametrize(("line", "kept"), [
    ("update 123456789 handled in 12 ms", True),
    ("at 2026-11-23 10:55:12 the job ran", True),
    ("retry in 1.5 s, attempt 3", True),
    ("phone +44 7911 123456 given", False),
    ("typed 8 (916) 123-45-67", False),
    ("raw 79161234567", False),
    ("mail someone.else+tag@example.co.uk", False),
])
def test_the_log_filter_masks_personal_data_and_keeps_the_rest(line, kept):
    masked = PersonalDataFilter().mask(line)
    assert (masked == line) is kept
    if not kept:
        assert "[hidden]" in masked


def test_the_log_filter_masks_remembered_names_in_messages_and_tracebacks():
    import logging

    log_filter = PersonalDataFilter()
    log_filter.remember("Sherlock Holmes", None, " ")
    try:
        raise ValueError("bad name Sherlock Holmes")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", ("Sherlock Holmes",),
                                   sys.exc_info())
    assert log_filter.filter(record)
    formatted = logging.Formatter().format(record)
    assert "Sherlock" not in formatted and "ValueError: bad name [hidden]" in formatted


def test_a_short_name_does_not_hide_common_words_from_every_log_line():
    log_filter = PersonalDataFilter()
    log_filter.remember("Jo Be", "Ян Ли")
    line = "update 1 cannot be read; no answer to Ян or Li"
    assert log_filter.mask(line) == line and log_filter.footprint() == (0, 0)


@pytest.mark.parametrize("line", [
    'UPDATE conversations SET state=? (\'{"contact": {"name": "\\u041e\\u043b\\u0435\\u043d'
    '\\u0430 K"}}\',)',  # JSON's escapes, as aiosqlite logged parameters
    "got b'\\xd0\\x9e\\xd0\\xbb\\xd0\\xb5\\xd0\\xbd\\xd0\\xb0' from the socket",  # bytes
    'name "Ren\\u00e9e" refused',
])
def test_the_log_filter_masks_escaped_text_without_knowing_any_name(line):
    masked = PersonalDataFilter().mask(line)
    assert "[hidden]" in masked
    for escaped in ("\\u041e", "\\u043d", "\\xd0\\x9e", "Ren", "\\u00e9"):
        assert escaped not in masked


async def test_junk_typed_at_the_name_question_leaves_the_log_filter_bounded(
        service, monkeypatch):
    from bot import logsafe

    log_filter = logsafe.PersonalDataFilter()
    monkeypatch.setattr(logsafe, "FILTER", log_filter)
    prospect = Prospectus(service, user_id=557)
    await prospect.start("demo")
    await prospect.tap("a")
    await prospect.tap("~yes")
    await prospect.text(WORDS)
    for i in range(250):  # junk "names", each refused: none of it is kept
        await prospect.text(chr(ord("a") + i % 26) * 4096)
    assert log_filter.footprint() == (0, 0)
    await prospect.text("Sherlock Holmes")  # an accepted name: its words, a last net
    assert log_filter.footprint() == (2, 14)
    # however many names were accepted, memory stays bounded...
    log_filter.remember(*(f"Name{chr(65 + i % 26)}{i:x} " * 5 + "x" * 90
                          for i in range(3 * logsafe.CAPACITY)))
    words, characters = log_filter.footprint()
    assert words <= logsafe.CAPACITY and characters <= logsafe.CAPACITY * logsafe.MAX_WORD
    # ...and a log line costs one look-up per word in it, not one per name remembered

    class Counting(dict):
        lookups = 0

        def __contains__(self, word):
            Counting.lookups += 1
            return super().__contains__(word)

    log_filter._words = Counting(log_filter._words)
    line = "outbox row 48213 (sendMessage) failed: Bad Request: chat not found"
    assert log_filter.mask(line) == line
    assert Counting.lookups == 9  # outbox row sendMessage failed Bad Request chat not found


async def test_after_forget_mid_quiz_the_prospect_can_write_and_start_again(service,
                                                                           sessions):
    prospect = Prospectus(service, user_id=556)
    await prospect.start("demo")
    await prospect.tap("a")
    await prospect.tap("~yes")
    await prospect.text(WORDS)
    await prospect.text("Sherlock Holmes")  # the phone is still to come
    await prospect.send(command="forget")
    await prospect.send(rights_data="rights:forget:yes", callback_query_id="cb-f")
    assert await prospect.text("+44 7911 123456")  # late: nothing takes it
    async with sessions() as session:
        lead = (await session.execute(select(Lead))).scalar_one()
        last = (await session.execute(select(OutboxMessage).order_by(
            OutboxMessage.id.desc()).limit(1))).scalar_one()
    assert lead.phone is None and lead.name is None
    assert last.status == "pending" and "7911" not in json.dumps(last.payload)
    assert "/restart" in last.payload["text"]  # a polite word on how to begin again
    await prospect.start("demo")  # a new quiz, consent asked again
    await prospect.tap("a")
    await prospect.text("fine")
    assert (await prospect.state()).step == "agree"
