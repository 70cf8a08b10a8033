"""A flow's FAQ matched: typed text compared with every entry's `ask` phrasings in every
language, the same way options are (dialogs/typed/index.py)."""

from __future__ import annotations

from dialogs.format.schema import Flow
from dialogs.typed.index import faq_index, read, scores
from dialogs.typed.result import Understood

FAQ_MIN = 65.0  # an FAQ entry needs this score, and to beat every option's
FAQ_MARGIN = 5.0  # ... and to be this far ahead of the next entry


def best(flow: Flow, text: str, language: str) -> Understood | None:
    """The FAQ entry the text asks, or None."""
    if not flow.faq:
        return None
    index = faq_index(flow)
    found = scores(index, read(index, text, language))
    if not found:
        return None
    ranked = sorted(found.items(), key=lambda item: -item[1][0])
    entry, (score, _how) = ranked[0]
    if text.rstrip().endswith("?"):
        score = min(score + 5.0, 100.0)
    second = ranked[1][1][0] if len(ranked) > 1 else 0.0
    if score < FAQ_MIN or (score < 100.0 and score - second < FAQ_MARGIN):
        return None
    return Understood("faq", faq=entry, how="faq", score=score)
