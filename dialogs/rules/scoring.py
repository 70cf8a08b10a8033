"""Score, tags, discount and qualification, always derived from the answers given so far.

Nothing is accumulated: going back and answering again can never count twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dialogs.engine.actions import RecordQualification, ScoreItem
from dialogs.engine.state import AnswerValue, State
from dialogs.format.schema import (
    QUESTION_KINDS,
    ChoiceStep,
    Flow,
    MultipleChoiceStep,
    NumberStep,
    SingleChoiceStep,
)
from dialogs.rules.expressions import Record, is_true


@dataclass(frozen=True, slots=True)
class Facts:
    score: int
    breakdown: tuple[ScoreItem, ...]
    tags: frozenset[str]
    discount: float


def option_of(step: ChoiceStep, option_id: str):
    for option in step.options:
        if option.id == option_id:
            return option
    return None


def answer_points(flow: Flow, step_id: str, value: AnswerValue) -> tuple[int, tuple[str, ...]]:
    """The points and tags one answer brings."""
    step = flow.steps.get(step_id)
    points, tags = 0, []
    if step is None and step_id.startswith("~") and isinstance(value, str):
        message = flow.nurture_message(step_id[1:])  # an answer to a follow-up's question
        option = next((o for o in message.question if o.id == value), None) if message else None
        if option is not None:
            points, tags = option.score, list(option.tags)
    elif isinstance(step, SingleChoiceStep) and isinstance(value, str):
        option = option_of(step, value)
        if option is not None:
            points, tags = option.score, list(option.tags)
    elif isinstance(step, MultipleChoiceStep) and isinstance(value, tuple):
        for option_id in value:
            option = option_of(step, option_id)
            if option is not None:
                points += option.score
                tags.extend(option.tags)
    elif isinstance(step, NumberStep) and isinstance(value, int | float):
        names = {"value": value}
        for rule in step.scoring:
            if is_true(rule.when, names):
                points += rule.points
                tags.extend(rule.tags)
    return points, tuple(dict.fromkeys(tags))


def facts_of(flow: Flow, answers: Mapping[str, AnswerValue]) -> Facts:
    score, breakdown, tags = 0, [], set()
    discount = 0.0
    rules = flow.discount
    for step_id, value in answers.items():
        points, step_tags = answer_points(flow, step_id, value)
        score += points
        tags.update(step_tags)
        if points:
            breakdown.append(ScoreItem(step=step_id, answer=_short(value), points=points))
        step = flow.steps.get(step_id)
        if rules and value is not None and step is not None and step.kind in QUESTION_KINDS:
            own = getattr(step, "discount", None)
            discount += rules.per_answer if own is None else own
    if rules:
        discount = min(rules.max, rules.start + discount)
    return Facts(score=score, breakdown=tuple(breakdown), tags=frozenset(tags),
                 discount=round(discount, 2))


def values_of(flow: Flow, answers: Mapping[str, AnswerValue]) -> dict[str, float | None]:
    """`values.x`: a number's value, or the `value` of the chosen option(s)."""
    values: dict[str, float | None] = {}
    for step_id, answer in answers.items():
        step = flow.steps.get(step_id)
        if isinstance(step, NumberStep):
            values[step_id] = answer if isinstance(answer, int | float) else None
        elif isinstance(step, ChoiceStep):
            chosen = (answer,) if isinstance(answer, str) else (answer or ())
            options = [option_of(step, option_id) for option_id in chosen]
            numbers = [o.value for o in options if o is not None and o.value is not None]
            values[step_id] = sum(numbers) if numbers else None
    return values


def names_of(flow: Flow, state: State, facts: Facts) -> dict[str, Any]:
    """Everything a condition, formula or qualification rule may name."""
    return {
        "score": facts.score,
        "tags": facts.tags,
        "discount": facts.discount,
        "answers": Record(state.answers),
        "values": Record(values_of(flow, state.answers)),
        "language": state.language,
        "source": state.source or "",
        "has_name": "name" in state.contact,
        "has_phone": "phone" in state.contact,
        "has_email": "email" in state.contact,
        "consent": "processing" in state.consents,
        "marketing": "marketing" in state.consents,
        **state.results,
    }


def qualify(flow: Flow, state: State, forced: str | None = None,
            extra: Sequence[ScoreItem] = ()) -> RecordQualification:
    """`extra`: points earned outside the flow's steps (a broadcast's question, answered),
    added to the answers' before the rules are applied."""
    facts = facts_of(flow, state.answers)
    if extra:
        facts = replace(facts, score=facts.score + sum(item.points for item in extra),
                        breakdown=(*facts.breakdown, *extra))
    names = names_of(flow, state, facts)
    rules = flow.qualification
    names["target"] = target = is_true(rules.target, names)
    temperature = "cold"
    if rules.temperature.hot is not None and is_true(rules.temperature.hot, names):
        temperature = "hot"
    elif rules.temperature.warm is not None and is_true(rules.temperature.warm, names):
        temperature = "warm"
    names["temperature"] = temperature
    names["mql"] = mql = is_true(rules.mql, names)
    names["sql"] = sql = is_true(rules.sql, names)
    outcome = forced or next(
        (rule.do for rule in rules.outcome if is_true(rule.when, names)), "nurture")
    return RecordQualification(
        score=facts.score, breakdown=facts.breakdown, temperature=temperature, mql=mql,
        sql=sql, target=target, outcome=outcome, discount=facts.discount,
        tags=tuple(sorted(facts.tags)))


def _short(value: AnswerValue) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
