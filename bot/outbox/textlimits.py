"""Telegram's length limits, kept before a call is made (a 400 "message is too long" would
lose the message): 4096 for a message's text, 1024 for a caption, 200 for a tap's alert.

Everything here counts UTF-16 code units, as Telegram counts entity offsets: never fewer
than the characters (an emoji outside the BMP is two), so the stricter count.

A message too long is split at a paragraph, line or word boundary into messages sent one
after another (the buttons go with the last part); an edit or an alert cannot be split, so
it is shortened with "…". Should Telegram still answer "too long", the row is tried again
held to half the limits (the sender), so a count of ours that differs from Telegram's never
loses the message.
"""

from __future__ import annotations

from typing import Any

TEXT = 4096
CAPTION = 1024
ALERT = 200
ELLIPSIS = "…"
HALVED = "leadbot_halved"  # a payload key, never sent: this row's limits halved n times
MAX_HALVED = 4


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """Where to cut `text` (a str index) so that text[:cut] fits `limit` units: after the
    last paragraph, line or word break in the second half of what fits, else hard (never
    inside a surrogate pair, since Python strings hold whole code points)."""
    used = 0
    hard = len(text)
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            hard = index
            break
    if hard == len(text):
        return hard
    window = text[:hard]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at >= hard // 2:
            return at + len(separator)
    return hard


def _split_entities(entities: list[dict], head_units: int) -> tuple[list[dict], list[dict]]:
    """Entities of a text cut after `head_units`: those of the head, those of the rest
    (offsets moved); one that spans the cut is kept on both sides."""
    head, rest = [], []
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if start < head_units:
            head.append({**entity, "length": min(end, head_units) - start})
        if end > head_units:
            begin = max(start, head_units)
            rest.append({**entity, "offset": begin - head_units, "length": end - begin})
    return head, rest


def parts(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` units each, cut at a paragraph, line or word
    break where one is near (for callers that send each piece as a message of its own)."""
    pieces = []
    while units(text) > limit:
        cut = max(_cut(text, limit), 1)
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def shorten(text: str, limit: int, entities: list[dict] | None = None
            ) -> tuple[str, list[dict] | None]:
    """`text` cut to `limit` units with "…" when longer (and its entities clipped)."""
    if units(text) <= limit:
        return text, entities
    head = text[:_cut(text, limit - units(ELLIPSIS))].rstrip()
    kept = _split_entities(entities, units(head))[0] if entities else entities
    return head + ELLIPSIS, kept


def fit(method: str, payload: dict[str, Any]
        ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The call to make now within Telegram's limits: (method, payload, rest). `rest` is
    what remains to send after it (the same kind of row, sent next), or None.

    A message over 4096 goes as its first part now, the rest (with the buttons) after it;
    a document whose caption is over 1024 goes after its caption's text, sent as messages
    first; edits and alerts are shortened. A payload with HALVED (set by the sender when
    Telegram found a text too long all the same) is held to half the limits, or a quarter…"""
    payload = dict(payload)
    halved = payload.pop(HALVED, 0)
    method, now, rest = _fit(method, payload, TEXT >> halved, CAPTION >> halved,
                             ALERT >> halved)
    if rest is not None and halved:
        rest[HALVED] = halved
    return method, now, rest


def _fit(method: str, payload: dict[str, Any], text_limit: int, caption_limit: int,
         alert_limit: int) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    if method == "sendMessage" and units(payload.get("text") or "") > text_limit:
        return _first_part(payload, "text", "entities", text_limit)
    if method in ("sendDocument", "sendPhoto") and units(
            payload.get("caption") or "") > caption_limit:
        return _first_part(payload, "caption", "caption_entities", text_limit)
    if method in ("editMessageText", "editMessageCaption", "answerCallbackQuery"):
        field, entities_field, limit = {
            "editMessageText": ("text", "entities", text_limit),
            "editMessageCaption": ("caption", "caption_entities", caption_limit),
            "answerCallbackQuery": ("text", None, alert_limit)}[method]
        text = payload.get(field)
        if text and units(text) > limit:
            short, entities = shorten(text, limit, payload.get(entities_field or ""))
            payload[field] = short
            if entities_field and entities is not None:
                payload[entities_field] = entities
    return method, payload, None


def smaller(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload held to half the limits it was last tried with (Telegram said "too
    long" all the same), or None past a sixteenth: then it is not the length."""
    halved = payload.get(HALVED, 0) + 1
    return {**payload, HALVED: halved} if halved <= MAX_HALVED else None


def _first_part(payload: dict[str, Any], field: str, entities_field: str, limit: int
                ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    text = payload[field]
    cut = _cut(text, limit)
    head, tail = text[:cut], text[cut:]
    head_entities, tail_entities = _split_entities(payload.get(entities_field) or [],
                                                   units(head))
    now: dict[str, Any] = {"chat_id": payload["chat_id"], "text": head,
                           "link_preview_options": {"is_disabled": True}}
    if head_entities:
        now["entities"] = head_entities
    rest = {key: value for key, value in payload.items()
            if key not in (field, entities_field)}
    if tail:
        rest[field] = tail
    if tail_entities:
        rest[entities_field] = tail_entities
    return "sendMessage", now, rest
