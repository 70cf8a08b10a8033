"""What the Broadcasts pages show of a broadcast, in the viewer's words: its results as rows
(storage/reports/broadcasts.py `results`), its segment in words, its message per language
(the file's own text: the template escapes it) with its buttons, and the actions its status
allows (storage/work/broadcasts.py TRANSITIONS). No I/O: bot/web/broadcasts.py reads the
database and hands these the rows.

May import: bot.web, storage.work.broadcasts (its transitions), the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.work.broadcasts import TRANSITIONS

LANGUAGES = ("ru", "uk", "en")
# the results' figures, in the order a marketer reads them; each is a word `bc_<key>`
FIGURES = ("recipients", "pending", "queued", "skipped", "delivered", "blocked", "failed",
           "dropped", "unknown", "waiting", "unsubscribed", "flows_started", "leads")
LISTED = ("recipients", "delivered", "blocked", "unsubscribed", "taps", "flows_started",
          "leads")  # the list's columns
REASONS = ("no_consent", "stopped", "blocked", "erased", "cancelled")
# the segment's keys in the file's order (storage/reports/segment.py KEYS)
SEGMENT = ("flows", "versions", "variants", "sources", "campaigns", "temperatures",
           "qualified", "statuses", "not_statuses", "answers", "started", "active",
           "languages")
ACTIONS = ("send", "pause", "resume", "cancel", "preview")


@dataclass(frozen=True)
class Line:
    """A segment's filter in words: its label, the values (shown each as a word), and an
    expression (shown as code) for `answers`."""
    key: str
    label: str
    values: tuple[str, ...] = ()
    code: str | None = None


@dataclass(frozen=True)
class Button:
    index: int
    texts: tuple[tuple[str, str], ...]  # (language, text)
    kind: str  # url, flow, answer
    target: str  # the URL, the flow, the answer's id
    points: int
    tapped: int | None  # people who tapped it (None: a link not counted: no public address)


def taps(figures: dict[str, Any]) -> int:
    """People-taps, all buttons together (one person tapping two buttons counts twice)."""
    return sum(figures.get("tapped", {}).values())


def actions(status: str) -> tuple[str, ...]:
    """What a sales person or an owner may do to a broadcast in this status."""
    allowed = TRANSITIONS.get(status, ())
    found = [action for action, wanted in (("send", status == "draft"),
                                           ("pause", "paused" in allowed),
                                           ("resume", status == "paused"),
                                           ("cancel", "cancelled" in allowed)) if wanted]
    return (*found, "preview")


def _text(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (values if isinstance(values, list | tuple) else [values]))


def segment_lines(segment: dict[str, Any] | None, t: dict[str, str]) -> list[Line]:
    """The segment's filters in words, in the file's order of keys; empty: everyone (with
    consent in force)."""
    segment = segment or {}
    lines = []
    for key in SEGMENT:
        if key not in segment:
            continue
        value = segment[key]
        label = t[f"bc_seg_{key}"]
        if key == "answers":
            lines.append(Line(key, label, code=str(value)))
        elif key in ("started", "active"):
            days = value if isinstance(value, dict) else {}
            said = [t[f"bc_{word}"].format(day=days[part]) for part, word in (
                ("since", "from"), ("until", "to"), ("after", "after"), ("before", "before"))
                if days.get(part)]
            lines.append(Line(key, label, tuple(said)))
        else:
            lines.append(Line(key, label, tuple(_word(key, v, t) for v in _text(value))))
    return lines


def _word(key: str, value: str, t: dict[str, str]) -> str:
    if key == "temperatures":
        return t.get(value, value)
    if key in ("statuses", "not_statuses"):
        return t.get(f"lead_st_{value}", value)
    if key == "languages":
        return t.get(f"lead_lang_{value}", value)
    if key == "qualified":
        return value.upper()
    if key == "sources" and value == "none":
        return t["bc_no_source"]
    return value


def _ordered(texts: dict[str, str]) -> tuple[tuple[str, str], ...]:
    known = [(lang, texts[lang]) for lang in LANGUAGES if lang in texts]
    return (*known, *((lang, text) for lang, text in texts.items() if lang not in LANGUAGES))


def message_texts(message: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(language, the text as the file wrote it), ru / uk / en first."""
    return _ordered(message.get("text") or {})


def buttons(message: dict[str, Any], tapped: dict[str, int],
            links_counted: bool = False) -> list[Button]:
    """`links_counted`: link buttons go through the bot (LEADBOT_PUBLIC_URL), their taps are
    known; otherwise a link shows what was counted while they were, or nothing."""
    found = []
    for index, button in enumerate(message.get("buttons") or ()):
        kind = next((k for k in ("url", "flow", "answer") if button.get(k)), "url")
        count = tapped.get(str(index), 0 if kind != "url" or links_counted else None)
        found.append(Button(index, _ordered(button.get("text") or {}), kind,
                            str(button.get(kind) or ""), int(button.get("points") or 0),
                            count))
    return found
