"""A sent message in erased form (storage/privacy/shown.py): the person's data replaced,
their account's link gone with its words, every other entity still on its own words."""

from __future__ import annotations

from storage.privacy.shown import erased_message, reason


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def covered(payload: dict, entity: dict) -> str:
    raw = payload["text"].encode("utf-16-le")
    return raw[2 * entity["offset"]:2 * (entity["offset"] + entity["length"])].decode(
        "utf-16-le")


def test_a_reminder_loses_the_name_and_the_link_and_keeps_the_managers_mentions():
    head = "⏰ Nobody has claimed this lead for 6 min. "
    text = head + "👤 👤\n\n🔥 Hot lead\nOlena Kovalchuk · +380671234567\nWrite in Telegram\n"
    at = text.index("Write")
    payload = {"chat_id": -1, "text": text, "entities": [
        {"type": "text_link", "offset": utf16(head), "length": 2, "url": "tg://user?id=1"},
        {"type": "text_link", "offset": utf16(head) + 3, "length": 2,
         "url": "tg://user?id=2"},
        {"type": "text_link", "offset": utf16(text[:at]), "length": utf16("Write in Telegram"),
         "url": "tg://user?id=8201"}],
        "reply_markup": {"inline_keyboard": [[{"text": "Olena", "url": "tg://user?id=8201"}],
                                             [{"text": "✋ Claim", "callback_data": "claim:1"}]]}}
    erased = erased_message(payload, {"Olena Kovalchuk", "+380671234567"}, 8201)
    assert "Olena" not in str(erased) and "380671234567" not in str(erased)
    assert "8201" not in str(erased) and "Write in Telegram" not in erased["text"]
    assert "[erased] · [erased]" in erased["text"]
    assert [covered(erased, e) for e in erased["entities"]] == ["👤", "👤"]
    assert erased["reply_markup"] == {"inline_keyboard": [[{"text": "✋ Claim",
                                                            "callback_data": "claim:1"}]]}


def test_an_entity_after_the_erased_name_moves_with_its_words():
    text = "Олена Ковальчук wrote: see the gallery"
    at = utf16(text[:text.index("gallery")])
    payload = {"text": text, "entities": [{"type": "bold", "offset": at, "length": 7}]}
    erased = erased_message(payload, {"Олена Ковальчук"}, 1)
    assert erased["text"] == "[erased] wrote: see the gallery"
    assert [covered(erased, e) for e in erased["entities"]] == ["gallery"]


def test_the_receipt_names_telegrams_refusals_in_its_own_words():
    assert reason("Bad Request: message to edit not found") == "deleted"
    assert reason("Bad Request: message can't be edited") == "too_old"
    assert reason("Forbidden: bot was kicked from the supergroup chat", blocked=True) == "removed"
    assert reason("Bad Request: something new +380671234567") == "refused"
