"""A broadcast question's answer scored like a follow-up's (dialogs/broadcasts/scoring.py), on
the shipped kitchen quiz: its points join the lead's, one answer a broadcast (again replaces),
other broadcasts' answers kept, and the rules qualify the lead again."""

from __future__ import annotations

from pathlib import Path

from dialogs.broadcasts.scoring import answered
from dialogs.engine.actions import HandOff, RecordQualification
from dialogs.engine.state import State
from dialogs.format.loader import load_flow

FLOW = load_flow(Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "kitchen-quiz.yaml")
STATE = State(flow_id=FLOW.id, flow_version=1, user_id=1, language="en", step="done",
              contact={"phone": "+447400123456"}, consents={"processing": "1"}, finished=True)


def scored(actions) -> RecordQualification:
    assert isinstance(actions[0], RecordQualification)
    return actions[0]


def test_the_points_join_and_answering_again_replaces_not_adds():
    base = scored(answered(FLOW, STATE, (), "offer", "interested", 0))
    first = scored(answered(FLOW, STATE, (), "offer", "interested", 10))
    assert first.score == base.score + 10
    assert ("broadcast:offer", "interested", 10) in [
        (i.step, i.answer, i.points) for i in first.breakdown]
    earlier = [{"step": "broadcast:offer", "answer": "interested", "points": 10},
               {"step": "broadcast:older", "answer": "yes", "points": 7},
               {"step": "layout", "answer": "island", "points": 20}]  # the flow's own: not kept
    again = scored(answered(FLOW, STATE, earlier, "offer", "later", 3))
    assert again.score == base.score + 7 + 3  # the older broadcast's stays, this one replaced


def test_enough_points_make_the_lead_hot_and_hand_it_off():
    cold = answered(FLOW, STATE, (), "offer", "no", 0)
    assert not any(isinstance(a, HandOff) for a in cold)
    hot = answered(FLOW, STATE, (), "offer", "ready", 100)
    assert (scored(hot).temperature, scored(hot).outcome) == ("hot", "handoff")  # a phone
    assert hot[1:] == [HandOff(temperature="hot", score=scored(hot).score)]
