"""Telegram's length limits, in UTF-16 units: where a long text is cut, and its entities."""

from __future__ import annotations

import pytest

from bot.outbox.textlimits import fit, shorten, units


def parts(text: str, entities: list[dict] | None = None) -> list[dict]:
    """Every call a long message becomes, as the sender makes them pass after pass."""
    payload: dict | None = {"chat_id": 1, "text": text, "reply_markup": {"k": 1}}
    if entities:
        payload["entities"] = entities
    calls = []
    while payload is not None:
        method, now, payload = fit("sendMessage", payload)
        assert method == "sendMessage"
        calls.append(now)
    return calls


@pytest.mark.parametrize("text", [
    "a" * 10_000,                            # no break anywhere: cut hard
    "🔥" * 3000,                             # 6000 units in 3000 characters: never half an emoji
    ("word " * 900 + "\n") * 3,              # lines and words
    "x" * 4095 + "🔥" + "y" * 10,            # the emoji would straddle the limit
])
def test_every_part_fits_and_together_they_are_the_text(text):
    calls = parts(text)
    assert len(calls) >= 2
    assert all(units(c["text"]) <= 4096 for c in calls)
    assert "".join(c["text"] for c in calls) == text
    assert [("reply_markup" in c) for c in calls] == [False] * (len(calls) - 1) + [True]


def test_an_entity_across_the_cut_is_kept_on_both_sides():
    text = "a" * 4000 + "\n" + "b" * 200
    link = {"type": "text_link", "offset": 3990, "length": 50, "url": "tg://user?id=1"}
    first, second = parts(text, [link])
    assert first["entities"] == [link | {"length": 11}]  # 3990..4001, the newline included
    assert second["entities"] == [link | {"offset": 0, "length": 39}]


def test_a_short_text_passes_untouched_and_an_alert_is_shortened():
    assert fit("sendMessage", {"chat_id": 1, "text": "hi"}) == (
        "sendMessage", {"chat_id": 1, "text": "hi"}, None)
    _, payload, rest = fit("answerCallbackQuery", {"callback_query_id": "q",
                                                   "text": "Noted. " * 40})
    assert rest is None and units(payload["text"]) <= 200 and payload["text"].endswith("…")
    assert shorten("🔥" * 150, 200)[0] == "🔥" * 99 + "…"
