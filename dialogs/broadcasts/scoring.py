"""A broadcast question's answer, scored like a follow-up's (dialogs/engine/nurture/taps.py):
its points join the lead's under the step `broadcast:NAME` (one answer a broadcast: answering
again replaces the earlier one; other broadcasts' answers stay), the flow's rules qualify the
lead again, and a lead that became hot is handed off. Pure: the bot loads the flow, the state
and the lead's breakdown, and records what this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dialogs.broadcasts.schema import SOURCE, source_of
from dialogs.engine.actions import HandOff, RecordQualification, ScoreItem
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from dialogs.rules.scoring import qualify


def answered(flow: Flow, state: State, breakdown: Iterable[Mapping[str, Any]], name: str,
             answer: str, points: int) -> list[RecordQualification | HandOff]:
    """The actions an answer to broadcast `name`'s question brings: the lead qualified
    again, and its hand-off when the rules now say so."""
    step = source_of(name)
    earlier = [ScoreItem(str(item["step"]), str(item.get("answer", "")), int(item["points"]))
               for item in breakdown
               if str(item.get("step", "")).startswith(SOURCE) and item.get("step") != step]
    result = qualify(flow, state, extra=(*earlier, ScoreItem(step, answer, points)))
    actions: list[RecordQualification | HandOff] = [result]
    if result.outcome == "handoff":
        actions.append(HandOff(temperature=result.temperature, score=result.score))
    return actions
