"""The linter: everything wrong with a flow, each problem naming file, line, step and field.

A flow that fails here never runs: the bot refuses to start, `leadbot lint` exits 1.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path as FilePath

from dialogs.engine import callback
from dialogs.format.problems import Problem, split_path
from dialogs.format.schema import (
    CalculatorStep,
    ChoiceStep,
    ContactStep,
    EndStep,
    Flow,
    FreeTextStep,
    MessageStep,
    MultipleChoiceStep,
    RewardStep,
    SingleChoiceStep,
)
from dialogs.format.yamlsource import Path, YamlSource
from dialogs.lint.expressions import check_expressions, formula_steps, result_names
from dialogs.lint.graph import can_finish, edges, path_to, reachable
from dialogs.lint.nurture import check_nurture, check_nurture_files
from dialogs.lint.texts import (
    check_consent_texts,
    check_languages,
    check_placeholders,
    check_texts,
)
from dialogs.lint.typed import check_typed

MAX_BUTTONS = 100  # Bot API: an inline keyboard holds at most 100 buttons
MAX_PER_ROW = 8  # ... and at most 8 in a row

Found = tuple[Path, str]


def lint(flow: Flow, source: YamlSource, file: str, base_dir: FilePath | None = None,
         recipients: Collection[str] = (), named: Collection[str] = ()) -> list[Problem]:
    """`recipients`: the categories of recipient configured (e.g. "CRM"), which every
    consent text must name; `named`: the recipients it must name by name (given the
    phone and email, hashed)."""
    found: list[Found] = []
    for check in (check_languages, check_steps, check_graph, check_texts, check_expressions,
                  check_calculators, check_nurture, check_typed):
        found.extend(check(flow))
    found.extend(check_placeholders(flow, result_names(flow)))
    found.extend(check_consent_texts(flow, recipients, named))
    if base_dir is not None:
        found.extend(check_files(flow, base_dir))
        found.extend(check_nurture_files(flow, base_dir))
    problems = []
    for path, message in found:
        step, field = split_path(path)
        problems.append(Problem(file=file, line=source.line(path), step=step, field=field,
                                message=message))
    return problems


def check_steps(flow: Flow) -> Iterator[Found]:
    if flow.start not in flow.steps:
        yield ("start",), f"unknown step '{flow.start}'"
    for step_id, step in flow.steps.items():
        base: Path = ("steps", step_id)
        for target, path in edges(step_id, step):
            if target not in flow.steps:
                yield path, f"unknown step '{target}'"
        has_else = any(branch.when is None for branch in step.branches)
        if isinstance(step, EndStep):
            if step.next or step.branches:
                yield (*base, "next"), "an end step cannot go on to another step"
        elif isinstance(step, SingleChoiceStep):
            for index, option in enumerate(step.options):
                if not (option.next or step.next or has_else):
                    yield (*base, "options", index, "next"), (
                        f"option '{option.id}' has no next step (set next on the option "
                        "or on the step)")
        elif not (step.next or has_else):
            yield (*base, "next"), "dead end: this step has no next step"
        if isinstance(step, ChoiceStep):
            yield from check_options(flow, step_id, step)
        if isinstance(step, MultipleChoiceStep):
            for index, option in enumerate(step.options):
                if option.next:
                    yield (*base, "options", index, "next"), (
                        "options of a multiple choice cannot have their own next; "
                        "use the step's next or branches")
        yield from check_callback_data(flow, step_id)


def check_options(flow: Flow, step_id: str, step: ChoiceStep) -> Iterator[Found]:
    base: Path = ("steps", step_id)
    seen: set[str] = set()
    for index, option in enumerate(step.options):
        if option.id in seen:
            yield (*base, "options", index, "id"), f"duplicate option id '{option.id}'"
        seen.add(option.id)
    if step.columns > MAX_PER_ROW:
        yield (*base, "columns"), f"Telegram allows at most {MAX_PER_ROW} buttons in a row"
    if len(step.options) + 2 > MAX_BUTTONS:
        yield (*base, "options"), (f"{len(step.options)} options: with the engine's buttons "
                                   f"that is more than Telegram's {MAX_BUTTONS}")
    if isinstance(step, MultipleChoiceStep):
        if step.min > len(step.options):
            yield (*base, "min"), f"min is {step.min} but there are {len(step.options)} options"
        if step.max is not None and step.max < step.min:
            yield (*base, "max"), f"max ({step.max}) is less than min ({step.min})"


def check_callback_data(flow: Flow, step_id: str) -> Iterator[Found]:
    step = flow.steps[step_id]
    options = [(("steps", step_id, "options", i, "id"), o.id)
               for i, o in enumerate(getattr(step, "options", ()))]
    options += [(("steps", step_id), name) for name in callback.ENGINE_OPTIONS]
    for path, option in options:
        data = callback.pack(flow.id, flow.version, step_id, option)
        size = len(data.encode("utf-8"))
        if size > callback.MAX_CALLBACK_BYTES:
            yield path, (f"button data '{data}' is {size} bytes; Telegram allows "
                         f"{callback.MAX_CALLBACK_BYTES} (shorten the flow, step or option id)")
            return


def check_graph(flow: Flow) -> Iterator[Found]:
    if flow.start not in flow.steps:
        return
    parents = reachable(flow, flow.start)
    covered: set[str] = set()
    for step_id in flow.steps:  # one report per orphaned part, at its first step
        if step_id in parents or step_id in covered:
            continue
        below = [s for s in reachable(flow, step_id) if s not in parents and s != step_id]
        covered.update(below)
        also = f" (nor to {', '.join(below)}, reached only from here)" if below else ""
        yield ("steps", step_id), (
            f"unreachable: no path from start '{flow.start}' leads here{also}")
    finishing = can_finish(flow)
    for step_id in parents:
        if step_id not in finishing:
            yield ("steps", step_id), "dead end: no end step can be reached from here"
    before_consent = reachable(flow, flow.start, through_consent=False)
    for step_id, step in flow.steps.items():
        if isinstance(step, ContactStep) and step_id in before_consent:
            route = " -> ".join(path_to(before_consent, step_id))
            yield ("steps", step_id), (f"contact details asked before consent (path: {route}); "
                                       "put a consent step before it")
        elif isinstance(step, FreeTextStep) and step_id in before_consent:
            # the prospect's own words may say who they are: stored only after consent
            route = " -> ".join(path_to(before_consent, step_id))
            yield ("steps", step_id), (f"free text asked before consent (path: {route}); the "
                                       "prospect's own words are personal data: put a consent "
                                       "step before it")


def check_calculators(flow: Flow) -> Iterator[Found]:
    """A formula's answers must be given on every path to it, or the price cannot be shown."""
    if flow.start not in flow.steps:
        return
    for step_id, step in flow.steps.items():
        if not isinstance(step, CalculatorStep):
            continue
        for needed in sorted(formula_steps(step)):
            if needed in flow.steps and step_id in reachable(flow, flow.start, without=needed):
                yield ("steps", step_id, "formula"), (
                    f"step '{needed}' can be skipped on the way here, so its answer may be "
                    "missing")


def check_files(flow: Flow, base_dir: FilePath) -> Iterator[Found]:
    for step_id, step in flow.steps.items():
        if isinstance(step, MessageStep | RewardStep) and step.file:
            for language, name in step.file.items():
                if not (base_dir / name).is_file():
                    yield ("steps", step_id, "file", language), (
                        f"file '{name}' not found next to the flow ({base_dir})")
