"""A lead's card text stays within its share of a Telegram message, however many answers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.handoff.handoffs import CARD_TEXT, HandoffConfig, Handoffs
from bot.jobs.followups import deliver_due
from bot.outbox.textlimits import units
from dialogs.engine.actions import RecordQualification
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from storage.schema.tables import Conversation, Handoff, Lead, utcnow
from tests.dialogs.flowkit import t


def long_flow(questions: int) -> Flow:
    steps = {f"q{i}": {"kind": "free_text", "text": t(f"Question {i}?"),
                       "next": f"q{i + 1}" if i + 1 < questions else "bye"}
             for i in range(questions)}
    steps["bye"] = {"kind": "end", "text": t("Bye")}
    return Flow.model_validate({
        "id": "survey", "version": 1, "title": t("Survey"), "languages": ["ru", "uk", "en"],
        "default_language": "en", "start": "q0", "steps": steps})


def test_a_card_with_a_hundred_long_answers_is_cut_to_fit():
    flow = long_flow(100)
    answers = {f"q{i}": f"answer {i} " + "in many words " * 10 for i in range(100)}
    state = State(flow_id="survey", flow_version=1, user_id=1, language="en", step="bye",
                  answers=answers)
    now = utcnow()
    conversation = Conversation(user_id=1, chat_id=1, flow_id="survey", flow_version=1,
                                step="bye", source="ads", started_at=now - timedelta(
                                    minutes=9))
    lead = Lead(conversation_id=1, user_id=1, flow_id="survey", flow_version=1,
                name="Olivia", phone="+447700900123")
    q = RecordQualification(score=50, breakdown=(), temperature="hot", mql=True, sql=True,
                            target=True, outcome="handoff", discount=0, tags=())
    text = Handoffs(HandoffConfig(chat_id=-1, language="en")).card_text(
        lead, conversation, state, flow, q, now)
    assert units(text) <= CARD_TEXT
    lines = text.split("\n")
    assert lines[1] == "Olivia · +447700900123"  # who to call is never cut
    assert lines[2].startswith("Answers: answer 0 in many words") and lines[2].endswith("…")
    assert lines[-1].startswith("Source: ads · survey v1 · en")



class Ticking:
    """A controlled clock: while `ticking`, each reading is 10 s after the previous one
    (a quiz answered at a human pace); otherwise it stands where the test puts it."""

    def __init__(self, now: datetime) -> None:
        self.now, self.ticking = now, True

    def __call__(self) -> datetime:
        if self.ticking:
            self.now += timedelta(seconds=10)
        return self.now


async def test_a_lead_requalified_days_later_says_how_long_its_quiz_took(sessions):
    """The card's "filled in within" is the quiz's own duration (start of the pass to its
    end, when nurture began), not the time since the conversation began (10260 min here)."""
    from tests.bot.test_nurture import T0, answer, rows, service_for, warm_lead

    clock = Ticking(T0)
    prospect = await warm_lead(service_for(sessions, clock), 72)
    clock.ticking = False
    quiz_took = int((clock.now - T0).total_seconds())
    assert 60 <= quiz_took < 600
    ended = clock.now
    assert await deliver_due(sessions, ended + timedelta(days=2)) == 1
    assert await deliver_due(sessions, ended + timedelta(days=7)) == 1
    clock.now = ended + timedelta(days=7, hours=3)
    await answer(prospect, "ready", "now")
    [handoff] = await rows(sessions, Handoff)
    [[minutes, seconds]] = re.findall(r"filled in within (\d+) min (\d+) s", handoff.card_text)
    assert 60 <= int(minutes) * 60 + int(seconds) <= quiz_took
    assert "warmed up through nurture after 7 d" in handoff.card_text


def test_an_erased_lead_in_a_digest_keeps_no_link_to_their_account_and_no_claim():
    handoffs = Handoffs(HandoffConfig(chat_id=-1, language="en"))
    erased = Handoff(id=1, lead_id=1, conversation_id=1, user_id=501, chat_id=-1,
                     temperature="hot", language="en", submitted_at=utcnow(),
                     card_text=handoffs.desk.words["erased"])
    other = Handoff(id=2, lead_id=2, conversation_id=2, user_id=502, chat_id=-1,
                    temperature="hot", language="en", submitted_at=utcnow(),
                    card_text="🔥 Hot lead · Boris · +447700900124")
    payload = handoffs.render([erased, other])
    assert "tg://user?id=501" not in str(payload) and "tg://user?id=502" in str(payload)
    assert "The client erased their data" in payload["text"]
    assert payload["text"].count("Write in Telegram") == 1
    [[claim]] = payload["reply_markup"]["inline_keyboard"]
    assert claim["text"] == "✋ Claim #2"
    link = payload["entities"][0]  # Boris's link still covers its own words
    start = len(payload["text"].encode("utf-16-le")[:2 * link["offset"]].decode("utf-16-le"))
    assert payload["text"][start:].startswith("Write in Telegram")
