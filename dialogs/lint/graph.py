"""The dialog tree as a graph: where each step can go, what is reachable, what never ends."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from dialogs.format.schema import (
    ConsentStep,
    EndStep,
    Flow,
    MessageStep,
    MultipleChoiceStep,
    SingleChoiceStep,
    Step,
)
from dialogs.format.yamlsource import Path


def edges(step_id: str, step: Step) -> Iterator[tuple[str, Path]]:
    """Every step this one can lead to, with the field that says so."""
    base: Path = ("steps", step_id)
    for index, branch in enumerate(step.branches):
        yield branch.next, (*base, "branches", index, "next")
    if isinstance(step, SingleChoiceStep):
        for index, option in enumerate(step.options):
            if option.next:
                yield option.next, (*base, "options", index, "next")
    if isinstance(step, ConsentStep):
        yield step.declined, (*base, "declined")
    if step.next:
        yield step.next, (*base, "next")


def successors(flow: Flow, step_id: str, through_consent: bool = True) -> list[str]:
    step = flow.steps[step_id]
    if not through_consent and isinstance(step, ConsentStep):
        return [step.declined] if step.declined in flow.steps else []
    return [target for target, _ in edges(step_id, step) if target in flow.steps]


def reachable(flow: Flow, start: str, *, through_consent: bool = True,
              without: str | None = None) -> dict[str, str | None]:
    """Steps reachable from `start`, each with the step it was first reached from."""
    if start not in flow.steps or start == without:
        return {}
    parents: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for target in successors(flow, current, through_consent):
            if target not in parents and target != without:
                parents[target] = current
                queue.append(target)
    return parents


def path_to(parents: dict[str, str | None], step_id: str) -> list[str]:
    path = [step_id]
    while (parent := parents[path[-1]]) is not None:
        path.append(parent)
    return path[::-1]


def can_finish(flow: Flow) -> set[str]:
    """Steps from which some end step can be reached.

    A step that points at an unknown step counts as finishing: that error is reported on its
    own, and the steps before it are not dead ends of their own.
    """
    incoming: dict[str, set[str]] = {step_id: set() for step_id in flow.steps}
    for step_id in flow.steps:
        for target in successors(flow, step_id):
            incoming[target].add(step_id)
    done = {step_id for step_id, step in flow.steps.items() if isinstance(step, EndStep)
            or any(target not in flow.steps for target, _ in edges(step_id, step))}
    queue = deque(done)
    while queue:
        for source in incoming[queue.popleft()]:
            if source not in done:
                done.add(source)
                queue.append(source)
    return done


def waits(step: Step) -> bool:
    """Does the flow stop at this step for the prospect (rather than go on by itself)?"""
    if isinstance(step, MessageStep):
        return step.button is not None
    return not isinstance(step, EndStep) and step.kind not in ("calculator", "reward")


def is_question(step: Step) -> bool:
    return isinstance(step, SingleChoiceStep | MultipleChoiceStep) or step.kind in (
        "free_text", "number")
