"""Reading a broadcast file: YAML -> schema -> checks, each problem naming the field
(`message.buttons[2].url`) and its line, as the flow loader does (dialogs/format/loader.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from dialogs.broadcasts.checks import check_broadcast
from dialogs.broadcasts.schema import ANSWER_PATTERN, NAME_PATTERN, Broadcast, Message
from dialogs.format.loader import duplicate_problem, schema_problems
from dialogs.format.problems import FlowError, Problem
from dialogs.format.schema import Flow
from dialogs.format.yamlsource import YamlSource, parse_yaml

PHOTO_TYPES = (".jpg", ".jpeg", ".png", ".webp")
MAX_PHOTO = 10 * 1024 * 1024  # Bot API sendPhoto: 10 MB
MAX_DOCUMENT = 50 * 1024 * 1024  # ... sendDocument: 50 MB
PATTERN_WORDS = {
    NAME_PATTERN: "lowercase letters, digits, '-' and '_', starting with a letter or digit, "
                  "at most 32",
    ANSWER_PATTERN: "1-32 lowercase letters, digits and '_'",
}


class BroadcastError(FlowError):
    """A broadcast file that must not be sent; `problems` lists everything wrong with it."""


def parse_broadcast(text: str, source_name: str, base_dir: Path | str | None) -> Broadcast:
    """The broadcast in `text` (read from `source_name`), its photo or document found in
    `base_dir` (the file's folder) and kept as an absolute path; none: only an https URL
    will do. Raises BroadcastError listing every problem of the file's shape."""
    broadcast, _ = _parse(text, source_name, base_dir)
    return broadcast


def load_broadcast(text: str, source_name: str, base_dir: Path | str | None,
                   flows: Iterable[Flow | str] = (), *,
                   footer: Mapping[str, str] | None = None) -> Broadcast:
    """`parse_broadcast`, then `check_broadcast` (checks.py): the whole linter, each problem
    with its line. What `leadbot broadcast create` runs."""
    broadcast, source = _parse(text, source_name, base_dir)
    problems = check_broadcast(broadcast, flows, footer=footer, file=source_name, source=source)
    if problems:
        raise BroadcastError(problems)
    return broadcast


def _parse(text: str, name: str, base_dir: Path | str | None) -> tuple[Broadcast, YamlSource]:
    try:
        source = parse_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        raise BroadcastError([Problem(name, mark.line + 1 if mark else None, None, None,
                                      f"not valid YAML: {reason}")]) from None
    problems = [duplicate_problem(name, path, line) for path, line in source.duplicates]
    if not isinstance(source.data, dict):
        raise BroadcastError([*problems, Problem(name, 1, None, None,
                                                 "a broadcast file must be a mapping")])
    try:
        broadcast = Broadcast.model_validate(source.data)
    except ValidationError as error:
        raise BroadcastError(problems + [_worded(p) for p in
                                         schema_problems(error, source, name)]) from None
    broadcast, found = _with_file(broadcast, Path(base_dir) if base_dir else None)
    problems += [Problem(name, source.line(("message", key)), None, f"message.{key}", message)
                 for key, message in found]
    if problems:
        raise BroadcastError(problems)
    return broadcast, source


def _worded(problem: Problem) -> Problem:
    for pattern, words in PATTERN_WORDS.items():
        if pattern in problem.message:
            return Problem(problem.file, problem.line, problem.step, problem.field,
                           f"not a valid name: {words}")
    return problem


def _with_file(broadcast: Broadcast, base_dir: Path | None
               ) -> tuple[Broadcast, list[tuple[str, str]]]:
    """The photo or document as an absolute path (the sender reads it later, from anywhere),
    or the problem with it. An https URL stays as it is (Telegram fetches it)."""
    message = broadcast.message
    key = "photo" if message.photo else "document"
    value = message.file
    if value is None or value.startswith("https://"):
        return broadcast, []
    if "://" in value:
        return broadcast, [(key, "must be https (https://...) or a file next to this one")]
    if base_dir is None:
        return broadcast, [(key, "a file needs the broadcast's folder: give an https URL")]
    path = (base_dir / value).resolve()
    if not path.is_file():
        return broadcast, [(key, f"file '{value}' not found next to the broadcast ({base_dir})")]
    if key == "photo" and path.suffix.lower() not in PHOTO_TYPES:
        return broadcast, [(key, f"a photo is one of {', '.join(PHOTO_TYPES)} (send other "
                                 "files as document)")]
    size, limit = path.stat().st_size, MAX_PHOTO if key == "photo" else MAX_DOCUMENT
    if size > limit:
        return broadcast, [(key, f"{size:,} bytes; Telegram takes {limit:,} in a {key}")]
    updated: Message = message.model_copy(update={key: str(path)})
    return broadcast.model_copy(update={"message": updated}), []
