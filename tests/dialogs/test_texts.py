import pytest

from dialogs.engine.texts import ENGINE_TEXTS, SUPPORTED_LANGUAGES, engine_text, fill, placeholders


@pytest.mark.parametrize("key", sorted(ENGINE_TEXTS))
def test_every_engine_text_exists_in_every_language_with_the_same_placeholders(key):
    texts = ENGINE_TEXTS[key]
    assert set(texts) == set(SUPPORTED_LANGUAGES)
    assert all(text.strip() for text in texts.values())
    assert len({tuple(sorted(placeholders(text))) for text in texts.values()}) == 1


def test_fill_never_reaches_into_objects():
    assert fill("{name} {name.__class__} {missing}", {"name": "Ivan"}) == (
        "Ivan {name.__class__} {missing}")


def test_engine_text_falls_back_to_english():
    assert engine_text("back", "de") == "⬅ Back"
    assert engine_text("number_range", "uk", min=10, max=20) == "Введіть число від 10 до 20."
