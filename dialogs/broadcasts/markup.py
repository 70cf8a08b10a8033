"""Telegram's HTML (Bot API, "HTML style"), checked before anything is sent and turned into
plain text + entities, which is how the outbox sends every text (no parse_mode): its length
is what Telegram counts ("after entities parsing"), and bot/outbox/textlimits.py can split it
at a paragraph without cutting a tag in two.

A broadcast may use <b>, <i>, <u>, <s>, <a href>, <code>, <pre>, <blockquote>, spoilers.
Every '<', '>' and '&' that is not markup must be written &lt; &gt; &amp; (Telegram refuses
the whole message otherwise: "can't parse entities").
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

ENTITY_OF_TAG = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)"
                  r"\s*(/?)>")
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_PLAIN = re.compile(r"[^<&>]+")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Parsed:
    text: str = ""  # what the reader sees
    entities: list[dict] = field(default_factory=list)  # Bot API MessageEntity objects
    problems: list[str] = field(default_factory=list)


def parse_html(source: str) -> Parsed:
    """Plain text, entities (offsets in UTF-16 units) and what Telegram would refuse."""
    parsed = Parsed()
    opened: list[tuple[str, int, dict]] = []  # tag, offset, extra fields of its entity
    chunks: list[str] = []
    at, used = 0, 0
    while at < len(source):
        plain = _PLAIN.match(source, at)
        if plain is not None:  # a run of words without markup, taken whole (a broadcast
            run = plain.group(0)  # parses each recipient's text: bot/jobs/broadcasts.py)
            chunks.append(run)
            used += units(run)
            at = plain.end()
            continue
        char = source[at]
        if char == "<":
            match = _TAG.match(source, at)
            if match is None:
                parsed.problems.append(f"'<' at {at + 1} is not a tag: write &lt;")
                at += 1
                continue
            _tag(match, used, opened, parsed)
            at = match.end()
            continue
        if char == "&":
            match = _ENTITY.match(source, at)
            if match is None:
                parsed.problems.append(f"'&' at {at + 1} is not an entity: write &amp;")
                at += 1
                continue
            char = html.unescape(match.group(0))
            at = match.end()
        else:  # '>'
            parsed.problems.append(f"'>' at {at + 1} is not inside a tag: write &gt;")
            at += 1
            continue
        chunks.append(char)
        used += units(char)
    for tag, _, _ in reversed(opened):
        parsed.problems.append(f"<{tag}> is never closed")
    parsed.text = "".join(chunks)
    parsed.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return parsed


def _tag(match: re.Match[str], used: int, opened: list[tuple[str, int, dict]],
         parsed: Parsed) -> None:
    closing, tag, attributes, self_closing = match.groups()
    tag = tag.lower()
    if tag not in ENTITY_OF_TAG or self_closing:
        parsed.problems.append(f"<{match.group(0)[1:-1]}> is not markup Telegram knows (use "
                               "b, i, u, s, a href, code, pre, blockquote, tg-spoiler)")
        return
    if closing:
        if not opened or opened[-1][0] != tag:
            expected = f"</{opened[-1][0]}> first" if opened else "nothing is open"
            parsed.problems.append(f"</{tag}> closes what is not open here ({expected})")
            return
        _, start, extra = opened.pop()
        if used > start:
            parsed.entities.append({"type": ENTITY_OF_TAG[tag], "offset": start,
                                    "length": used - start, **extra})
        return
    values = {name.lower(): html.unescape(a if a is not None else b)
              for name, a, b in _ATTRIBUTE.findall(attributes)}
    extra: dict = {}
    if tag == "a":
        href = values.get("href", "")
        if not re.match(r"^(https://|tg://)\S+$", href):
            parsed.problems.append(f"<a> needs href=\"https://...\" (found {href!r})")
        extra = {"url": href}
    elif tag == "span" and values.get("class") != "tg-spoiler":
        parsed.problems.append("<span> is only for spoilers: <span class=\"tg-spoiler\">")
    opened.append((tag, used, extra))


def escape(text: str) -> str:
    """Plain words (a name, the unsubscribe footer) made safe inside HTML."""
    return html.escape(text, quote=False)
