"""What understand() returns (dialogs/typed/understand.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["option", "ambiguous", "faq", "none"]


@dataclass(frozen=True, slots=True)
class Understood:
    """`option`: `options` holds what was chosen (one id at a single choice, one or more at
    a multiple choice); `ambiguous`: `options` holds the two candidates to offer; `faq`:
    `faq` is the entry's id; `none`: nothing matched. `how` says how it was understood
    ("label", "synonym", "number", "ordinal", "lemma", "fuzzy", "faq"), kept on the answer."""

    kind: Kind
    options: tuple[str, ...] = ()
    faq: str | None = None
    how: str = ""
    score: float = 0.0


NONE = Understood("none")
