"""What the loader and the linter report: every problem, each naming file, line, step, field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.format.yamlsource import Path


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    step: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = []
        if self.step:
            parts.append(f"step '{self.step}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        place = ", ".join(parts)
        return f"{where}: {place}: {self.message}" if place else f"{where}: {self.message}"


class FlowError(Exception):
    """A flow file that must not be run; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def split_path(path: Path) -> tuple[str | None, str | None]:
    """('steps', 'size', 'options', 1, 'next') -> ('size', 'options[1].next')."""
    step = None
    if len(path) >= 2 and path[0] == "steps":
        step, path = str(path[1]), path[2:]
    field = ""
    for part in path:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return step, field or None


def plain(item: Mapping[str, Any]) -> str:
    """One of pydantic's errors in the words of the validator that raised it: without the
    framework's "Value error, " or "Assertion failed, " in front."""
    error = item.get("ctx", {}).get("error")
    if item.get("type") in ("value_error", "assertion_error") and error is not None:
        return str(error)
    return str(item["msg"])
