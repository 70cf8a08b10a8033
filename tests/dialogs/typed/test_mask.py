"""mask(): what could identify a person, out of texts kept for the marketer."""

from __future__ import annotations

import pytest

from dialogs.typed import mask


@pytest.mark.parametrize(("text", "masked"), [
    ("Меня зовут Иван Петров, сколько стоит замер?", "Меня зовут [name], сколько стоит замер?"),
    ("мене звати Оксана", "мене звати [name]"),
    ("my name is John Smith. how much?", "my name is [name]. how much?"),
    ("I'm Anna, do you deliver?", "I'm [name], do you deliver?"),
    ("это Анна, а доставка есть?", "это [name], а доставка есть?"),
    ("пишите на ivan@mail.ru или +7 (999) 123-45-67", "пишите на [email] или [number]"),
    ("t.me/ivan или @ivan_p", "[link] или [username]"),
    ("i am looking for a kitchen", "i am looking for a kitchen"),
    ("это дорого?", "это дорого?"),
    ("кухня 3-5 метров, 2024 год", "кухня 3-5 метров, 2024 год"),
])
def test_mask(text, masked):
    assert mask(text) == masked
