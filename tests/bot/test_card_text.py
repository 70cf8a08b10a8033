"""A lead's card text stays within its share of a Telegram message, however many answers."""

from __future__ import annotations

from datetime import timedelta

from bot.handoff.handoffs import CARD_TEXT, HandoffConfig, Handoffs
from bot.outbox.textlimits import units
from dialogs.engine.actions import RecordQualification
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from storage.schema.tables import Conversation, Lead, utcnow
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
