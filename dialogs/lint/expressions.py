"""Checks for the conditions and formulas in a flow: every name, step, tag and option known."""

from __future__ import annotations

from collections.abc import Iterator

from dialogs.format.schema import (
    CalculatorStep,
    ChoiceStep,
    Flow,
    MultipleChoiceStep,
    NumberStep,
    SingleChoiceStep,
)
from dialogs.format.yamlsource import Path
from dialogs.rules.expressions import FUNCTIONS, ExpressionError, references

BASE_NAMES = {"score", "tags", "discount", "answers", "values", "language", "source",
              "has_name", "has_phone", "has_email", "consent", "marketing"}
QUALIFICATION_ORDER = ("target", "temperature", "mql", "sql", "outcome")

Found = tuple[Path, str]  # where, what is wrong


def declared_tags(flow: Flow) -> set[str]:
    tags: set[str] = set()
    for step in flow.steps.values():
        for option in getattr(step, "options", ()):
            tags.update(option.tags)
        for rule in getattr(step, "scoring", ()):
            tags.update(rule.tags)
    for sequence in flow.nurture.sequences:  # a follow-up's answers bring tags too
        for message in sequence.messages:
            for option in message.question:
                tags.update(option.tags)
    return tags


def result_names(flow: Flow) -> set[str]:
    names: set[str] = set()
    for step in flow.steps.values():
        if isinstance(step, CalculatorStep):
            names |= {step.save_as, f"{step.save_as}_low", f"{step.save_as}_high"}
    return names


def expressions(flow: Flow) -> Iterator[tuple[Path, str, set[str]]]:
    """Every expression in the flow, where it is, and the names it may use."""
    base = BASE_NAMES | result_names(flow)
    for step_id, step in flow.steps.items():
        for index, branch in enumerate(step.branches):
            if branch.when is not None:
                yield ("steps", step_id, "branches", index, "when"), branch.when, base
        if isinstance(step, NumberStep):
            for index, rule in enumerate(step.scoring):
                yield ("steps", step_id, "scoring", index, "when"), rule.when, {"value"}
        if isinstance(step, CalculatorStep):
            yield ("steps", step_id, "formula"), step.formula, base
    rules = flow.qualification
    known = set(base)
    for name in QUALIFICATION_ORDER:
        path: Path = ("qualification", name)
        if name == "temperature":
            for level in ("hot", "warm"):
                condition = getattr(rules.temperature, level)
                if condition is not None:
                    yield (*path, level), condition, set(known)
        elif name == "outcome":
            for index, rule in enumerate(rules.outcome):
                if rule.when is not None:
                    yield (*path, index, "when"), rule.when, set(known)
        else:
            yield path, getattr(rules, name), set(known)
        known.add(name)
    for index, follow_up in enumerate(flow.follow_ups):
        if follow_up.when is not None:
            yield ("follow_ups", index, "when"), follow_up.when, known | {"outcome"}
    for index, sequence in enumerate(flow.nurture.sequences):
        if sequence.when is not None:
            yield ("nurture", "sequences", index, "when"), sequence.when, known | {"outcome"}


def check_expressions(flow: Flow) -> Iterator[Found]:
    tags = declared_tags(flow)
    for path, expression, allowed in expressions(flow):
        try:
            refs = references(expression)
        except ExpressionError as error:
            yield path, str(error)
            continue
        for call in sorted(refs.calls - set(FUNCTIONS)):
            yield path, f"unknown function '{call}' (allowed: {', '.join(sorted(FUNCTIONS))})"
        for name in sorted(refs.names - allowed - set(FUNCTIONS) - {"True", "False", "None"}):
            yield path, f"unknown variable '{name}' (known here: {', '.join(sorted(allowed))})"
        for record, step_id in sorted(refs.steps):
            yield from _check_step_ref(flow, path, record, step_id)
        for tag in sorted(refs.tags - tags):
            yield path, f"unknown tag '{tag}' (no option or scoring rule gives it)"
        for step_id, literal in sorted(refs.compared):
            step = flow.steps.get(step_id)
            if isinstance(step, ChoiceStep) and literal not in {o.id for o in step.options}:
                yield path, (f"answers.{step_id} is compared with '{literal}', which is not "
                             f"an option of step '{step_id}'")


def _check_step_ref(flow: Flow, path: Path, record: str, step_id: str) -> Iterator[Found]:
    step = flow.steps.get(step_id)
    if step is None:
        yield path, f"{record}.{step_id} names unknown step '{step_id}'"
    elif step.kind not in ("single_choice", "multiple_choice", "free_text", "number"):
        yield path, f"{record}.{step_id}: step '{step_id}' is a {step.kind}, not a question"
    elif record == "values" and isinstance(step, SingleChoiceStep | MultipleChoiceStep) and all(
            o.value is None for o in step.options):
        yield path, f"values.{step_id}: no option of step '{step_id}' has a value"
    elif record == "values" and step.kind == "free_text":
        yield path, f"values.{step_id}: step '{step_id}' is free text, it has no value"


def formula_steps(step: CalculatorStep) -> set[str]:
    try:
        return {step_id for _, step_id in references(step.formula).steps}
    except ExpressionError:
        return set()


def is_multiple(step: object) -> bool:
    return isinstance(step, MultipleChoiceStep)
