"""A range typed at a `range: true` number step: «от 50 до 70», "50-70", "50 to 70".

dialogs.rules.validators.parse_range (issue 26's matcher) reads it when it is there; until
then this reads the plain forms itself, each end by parse_number."""

from __future__ import annotations

import re

from dialogs.rules import validators

_RANGE = re.compile(
    r"^\s*(?:от|від|з|from|between)?\s*(?P<low>[^\s–—-].*?)\s*"
    r"(?:-|–|—|до|to|and|по)\s*(?P<high>\S.*?)\s*$", re.IGNORECASE)


def parse_range(text: str, language: str) -> tuple[float, float] | None:
    own = getattr(validators, "parse_range", None)
    if own is not None:
        found = own(text, language)
        return None if found is None else (float(found[0]), float(found[1]))
    match = _RANGE.match(text)
    if match is None:
        return None
    ends = [validators.parse_number(match.group(g), language) for g in ("low", "high")]
    if not all(isinstance(e, float) for e in ends):
        return None
    return float(ends[0]), float(ends[1])  # type: ignore[arg-type]
