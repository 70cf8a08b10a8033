"""What typed text means at a step: one option (or several at a multiple choice), two
close candidates ("did you mean"), an FAQ entry, or nothing.

THE INTERFACE (issue 26): `understand(flow, step_id, text, language) -> Understood`.
This first version matches a label or synonym typed exactly (case and spaces aside); the
real matcher replaces the body, not the signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dialogs.format.schema import Flow

Kind = Literal["option", "ambiguous", "faq", "none"]


@dataclass(frozen=True, slots=True)
class Understood:
    """`option`: `options` holds what was chosen (one id at a single choice, one or more at
    a multiple choice); `ambiguous`: `options` holds the two candidates to offer; `faq`:
    `faq` is the entry's id; `none`: nothing matched. `how` says how it was understood
    ("label", "synonym", "number", "ordinal", "lemma", "fuzzy", ...), kept on the answer."""

    kind: Kind
    options: tuple[str, ...] = ()
    faq: str | None = None
    how: str = ""
    score: float = 0.0


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def understand(flow: Flow, step_id: str, text: str, language: str) -> Understood:
    step = flow.steps[step_id]
    typed = _norm(text)
    for option in getattr(step, "options", ()):
        if typed in {_norm(t) for t in option.text.values()}:
            return Understood("option", (option.id,), how="label", score=100.0)
        if typed in {_norm(s) for words in option.synonyms.values() for s in words}:
            return Understood("option", (option.id,), how="synonym", score=100.0)
    for entry in flow.faq:
        if typed in {_norm(a) for asks in entry.ask.values() for a in asks}:
            return Understood("faq", faq=entry.id, how="faq", score=100.0)
    return Understood("none")
