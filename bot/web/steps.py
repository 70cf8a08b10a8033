"""The flow page's steps as a marketer reads them: named by the question the prospect saw
(in the page's language, else the flow's), with only the rates that mean something there,
and the answers people chose per question. Pure: the figures are the funnel's
(storage/reports/funnel.py) and the answers' (storage/reports/answers.py).

May import: dialogs.rules, the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dialogs.rules.funnel import share

# the steps that ask something: only there "answered" means anything
ASKS = frozenset({"single_choice", "multiple_choice", "free_text", "number", "consent",
                  "contact"})
CHOICES = frozenset({"single_choice", "multiple_choice"})
LONGEST = 70  # characters of a question shown as the step's name
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # what the bot fills in per person


def in_language(texts: Any, lang: str, fallback: str | None) -> str | None:
    """A localized text ({"ru": ..., "en": ...}) in `lang`, else `fallback`, else any."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, Mapping) or not texts:
        return None
    found = texts.get(lang) or (texts.get(fallback) if fallback else None)
    return str(found or next(iter(texts.values())))


def question(text: str | None) -> str | None:
    """The words a step is known by: its first question ("...?") or first line, its
    placeholders ({discount}) as "…", cut to LONGEST characters."""
    if not text:
        return None
    first = text.strip().split("\n", 1)[0]
    asked = re.search(r"[^.!?]*\?", first)
    words = PLACEHOLDER.sub("…", asked.group(0) if asked else first)
    words = re.sub(r"\s+", " ", words).strip(" ,:;—-")
    return words if len(words) <= LONGEST else words[:LONGEST - 1].rstrip() + "…"


def named(steps: list[dict[str, Any]], definition: Mapping[str, Any] | None,
          lang: str) -> list[dict[str, Any]]:
    """The funnel's steps with `name` (the question, None when the step has no text),
    `asks` (its "answered" means something), `lost` (the drop-off to show: none where
    nobody was lost) and `branch_of` / `branch_share` (None but at a branch's end)."""
    specs = (definition or {}).get("steps") or {}
    fallback = (definition or {}).get("default_language")
    out = []
    for step in steps:
        spec = specs.get(step["step"]) or {}
        name = question(in_language(spec.get("text"), lang, fallback))
        lost = step.get("drop_off")
        out.append({**step, "name": name, "asks": step["kind"] in ASKS,
                    "lost": lost if lost else None, "branch_of": step.get("branch_of"),
                    "branch_share": step.get("branch_share")})
    return out


def distribution(steps: list[dict[str, Any]], definition: Mapping[str, Any] | None,
                 chosen: Mapping[str, Mapping[str, int]], lang: str) -> list[dict[str, Any]]:
    """Per question of a flow version (in flow order): its name, how many answered, and for
    a choice its options (label in `lang`, people, share of those who answered), in the
    flow's order; an option no longer in the flow after them, by its id."""
    specs = (definition or {}).get("steps") or {}
    fallback = (definition or {}).get("default_language")
    out = []
    for step in steps:
        if step["kind"] not in ASKS - {"consent", "contact"}:
            continue
        spec = specs.get(step["step"]) or {}
        counts = dict(chosen.get(step["step"]) or {})
        options = []
        if step["kind"] in CHOICES:
            for option in spec.get("options") or ():
                people = counts.pop(option.get("id"), 0)
                options.append({"id": option.get("id"), "people": people,
                                "label": in_language(option.get("text"), lang, fallback)
                                or option.get("id")})
            options += [{"id": key, "label": key, "people": people}
                        for key, people in sorted(counts.items())]
        most = max([o["people"] for o in options] or [0]) or 1
        for option in options:
            option["share"] = share(option["people"], step["answered"])
            option["width"] = round(100.0 * option["people"] / most, 1)
        out.append({"step": step["step"], "kind": step["kind"], "answered": step["answered"],
                    "name": question(in_language(spec.get("text"), lang, fallback)),
                    "options": options})
    return out
