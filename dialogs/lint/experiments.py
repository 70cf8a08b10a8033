"""The linter's checks across flows: the variants of each A/B experiment, together.

An experiment is the flows whose `experiment.name` is the same. It must have at least two
variants with distinct names and weights from 1 to MAX_WEIGHT; its name (the deep link and
the menu's entry) must not be the id of a flow outside it; and its variants must be
comparable and look the same at the entry: one title in the menu, the same languages, and the
same consent (policy) and contact steps, so every variant asks for the same agreement before it
asks for the same kind of details. Each problem is reported in the variant's own file,
compared with the experiment's first variant (by name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from dialogs.format.problems import Problem
from dialogs.format.schema import ConsentStep, ContactStep, Flow
from dialogs.format.yamlsource import Path, YamlSource

Located = tuple[Flow, str, YamlSource | None]  # a flow, its file, its lines
MAX_WEIGHT = 1_000_000  # shares finer than a millionth mean nothing to an experiment


def check_experiments(flows: Sequence[Located], complete: bool = True) -> list[Problem]:
    """`complete`: these are all the flows (a folder), so an experiment with one variant
    here has one variant; False for files named one by one (a variant linted alone)."""
    problems: list[Problem] = []
    members: dict[str, list[Located]] = defaultdict(list)
    ids = {flow.id: file for flow, file, _ in flows}
    for entry in flows:
        if entry[0].experiment is not None:
            members[entry[0].experiment.name].append(entry)
    for name, variants in sorted(members.items()):
        variants.sort(key=lambda e: (e[0].experiment.variant, e[1]))  # type: ignore[union-attr]
        for (_, file, source), (path, message) in _check(name, variants, ids, complete):
            line = source.line(path) if source is not None else None
            problems.append(Problem(file, line, None, ".".join(map(str, path)), message))
    return problems


def _check(name: str, variants: list[Located], ids: dict[str, str], complete: bool
           ) -> Iterator[tuple[Located, tuple[Path, str]]]:
    first = variants[0]
    mine = {flow.id for flow, _, _ in variants}
    if name in ids and name not in mine:
        yield first, (("experiment", "name"), (
            f"experiment '{name}' has the id of flow '{name}' ({ids[name]}), which is not "
            "one of its variants: its deep link and menu entry would be ambiguous; rename "
            "the experiment or make that flow a variant of it"))
    if len(variants) < 2 and complete:
        yield first, (("experiment",), (
            f"experiment '{name}' has only this variant: add another flow file with "
            f"`experiment: {{name: {name}, variant: ...}}`, or remove `experiment`"))
    seen: dict[str, str] = {}
    for entry in variants:
        flow, file, _ = entry
        experiment = flow.experiment
        assert experiment is not None
        if not 1 <= experiment.weight <= MAX_WEIGHT:
            yield entry, (("experiment", "weight"), (
                f"weight is {_number(experiment.weight)}: a weight is a whole number from 1 "
                f"to {MAX_WEIGHT:,}, the variant's share of new prospects relative to the "
                "others (50 and 50: half)"))
        if experiment.variant in seen:
            yield entry, (("experiment", "variant"), (
                f"variant '{experiment.variant}' of experiment '{name}' is also declared by "
                f"{seen[experiment.variant]}: give each variant its own name"))
            continue
        seen[experiment.variant] = file
        if entry is not first:
            yield from ((entry, found) for found in _same_entry(first, flow))


def _number(value: int) -> str:
    """The weight as written, or its size when it is too long to show."""
    return str(value) if abs(value) < 10**100 else "a number of more than 100 digits"


def _same_entry(first: Located, flow: Flow) -> Iterator[tuple[Path, str]]:
    reference, file, _ = first
    assert reference.experiment is not None
    other = f"variant '{reference.experiment.variant}' ({file})"
    if set(flow.languages) != set(reference.languages) or flow.language != reference.language:
        yield ("languages",), (
            f"languages {', '.join(flow.languages)} (default {flow.language}) differ from "
            f"{other}'s {', '.join(reference.languages)} (default {reference.language}): "
            "every variant must speak to the same people")
    if flow.title != reference.title:
        yield ("title",), (
            f"title differs from {other}'s: the menu shows the experiment once, with one "
            "title; give every variant the same title")
    consent, reference_consent = _policies(flow), _policies(reference)
    if consent != reference_consent:
        yield ("steps",), (
            f"consent differs from {other}'s (policy {_say(consent)} here, "
            f"{_say(reference_consent)} there): every variant must ask for the same consent")
    if _asks_contact(flow) != _asks_contact(reference):
        yield ("steps",), (
            f"{'asks' if _asks_contact(flow) else 'does not ask'} for contact details but "
            f"{other} {'does not' if _asks_contact(flow) else 'does'}: variants must be "
            "compared on the same way to become a lead")


def _policies(flow: Flow) -> set[tuple[str, str]]:
    return {(step.policy_url, step.policy_version) for step in flow.steps.values()
            if isinstance(step, ConsentStep)}


def _say(policies: set[tuple[str, str]]) -> str:
    return ", ".join(f"{url} v{version}" for url, version in sorted(policies)) or "none"


def _asks_contact(flow: Flow) -> bool:
    return any(isinstance(step, ContactStep) for step in flow.steps.values())
