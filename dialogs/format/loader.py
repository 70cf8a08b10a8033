"""Reading flow files: YAML -> schema -> linter. A flow is returned only when nothing is wrong."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from dialogs.format.problems import FlowError, Problem, plain, split_path
from dialogs.format.schema import ID_PATTERN, STEP_KINDS, Flow
from dialogs.format.yamlsource import YamlSource, parse_yaml
from dialogs.lint.experiments import check_experiments
from dialogs.lint.linter import lint

SCENARIO_SUFFIX = ".scenarios.yaml"


@dataclass(frozen=True)
class LoadedFlow:
    flow: Flow
    path: Path
    source: YamlSource | None = field(default=None, compare=False, repr=False)  # its lines


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Flow files named, or found in folders named (scenario files are not flows)."""
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            files.extend(sorted(p for p in entry.glob("*.y*ml")
                                if not p.name.endswith(SCENARIO_SUFFIX)))
        else:
            files.append(entry)
    return files


def read_flow(path: Path, recipients: Collection[str] = (), named: Collection[str] = ()
              ) -> tuple[Flow | None, list[Problem]]:
    """The flow in `path` and every problem found in it (`recipients`: the categories of
    recipient configured, `named`: the recipients named by name, which consent texts must
    name: dialogs/lint/texts.py)."""
    loaded, problems = read_entry(path, recipients, named)
    return (loaded.flow if loaded else None), problems


def read_entry(path: Path, recipients: Collection[str] = (), named: Collection[str] = ()
               ) -> tuple[LoadedFlow | None, list[Problem]]:
    """`read_flow`, keeping the file's lines for the checks across flows (experiments)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return None, [Problem(name, None, None, None, f"cannot read: {error.strerror}")]
    except UnicodeDecodeError:
        return None, [Problem(name, None, None, None, "not UTF-8 text")]
    try:
        source = parse_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        return None, [Problem(name, line, None, None, f"not valid YAML: {reason}")]
    problems = [duplicate_problem(name, path_, line) for path_, line in source.duplicates]
    if not isinstance(source.data, dict):
        return None, [*problems, Problem(name, 1, None, None, "a flow file must be a mapping")]
    try:
        flow = Flow.model_validate(source.data)
    except ValidationError as error:
        return None, problems + schema_problems(error, source, name)
    problems += lint(flow, source, name, path.parent, recipients, named)
    return (None if problems else LoadedFlow(flow, path, source)), problems


def cross_problems(loaded: Iterable[LoadedFlow], complete: bool = True) -> list[Problem]:
    """What is wrong between flows: two files with one id, an experiment's variants
    (`complete`: a folder was read, not files named one by one, so a variant alone is an
    experiment of one)."""
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    entries = list(loaded)
    for entry in entries:
        if entry.flow.id in seen:
            problems.append(Problem(str(entry.path), 1, None, "id", (
                f"flow id '{entry.flow.id}' is also used by {seen[entry.flow.id]}")))
        seen.setdefault(entry.flow.id, entry.path)
    return problems + check_experiments([(e.flow, str(e.path), e.source) for e in entries],
                                        complete)


def load_flow(path: str | Path, recipients: Collection[str] = (),
              named: Collection[str] = ()) -> Flow:
    flow, problems = read_flow(Path(path), recipients, named)
    if flow is None:
        raise FlowError(problems)
    return flow


def load_flows(paths: Iterable[str | Path], recipients: Collection[str] = (),
               named: Collection[str] = ()) -> dict[str, LoadedFlow]:
    """Every flow in the given files and folders; FlowError lists all problems in all files.
    `recipients`, `named`: what every consent text must name (lint)."""
    flows: dict[str, LoadedFlow] = {}
    problems: list[Problem] = []
    files = flow_files(paths)
    if not files:
        raise FlowError([Problem(", ".join(map(str, paths)) or ".", None, None, None,
                                 "no flow files (*.yaml) found")])
    entries = []
    for file in files:
        entry, found = read_entry(file, recipients, named)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
            flows.setdefault(entry.flow.id, entry)
    problems += cross_problems(entries, complete=any(Path(p).is_dir() for p in paths))
    if problems:
        raise FlowError(problems)
    return flows


def duplicate_problem(file: str, path: tuple, line: int) -> Problem:
    if len(path) == 2 and path[0] == "steps":
        return Problem(file, line, str(path[1]), None, f"duplicate step id '{path[1]}'")
    step, field = split_path(path)
    return Problem(file, line, step, field, f"duplicate key '{path[-1]}'")


def schema_problems(error: ValidationError, source: YamlSource, file: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        path = clean_location(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "kind")
        step, field = split_path(path)
        problems.append(Problem(file, source.line(path), step, field, explain(item)))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.message))


def clean_location(location: tuple) -> tuple:
    """Drop pydantic's union tags: ('steps', 'x', 'single_choice', 'text') -> (..., 'text')."""
    path = []
    for index, part in enumerate(location):
        if index == 2 and location[0] == "steps" and part in STEP_KINDS:
            continue
        if isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool")):
            continue
        path.append(part)
    return tuple(path)


def explain(item: dict) -> str:
    kind, message = item["type"], plain(item)
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (a typo?)"
    if kind == "string_pattern_mismatch" and item.get("ctx", {}).get("pattern") == ID_PATTERN:
        return (f"'{item['input']}' is not a valid id: use lowercase letters and digits, "
                "joined by single '-' or '_'")
    if kind == "union_tag_invalid":
        tag = item.get("ctx", {}).get("tag", "?")
        return f"unknown kind '{tag}' (known: {', '.join(STEP_KINDS)})"
    if kind == "union_tag_not_found":
        return f"'kind' is missing (one of: {', '.join(STEP_KINDS)})"
    return message
