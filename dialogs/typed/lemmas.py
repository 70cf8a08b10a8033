"""A word's dictionary form: pymorphy3 for Russian and Ukrainian (each analyzer loaded once,
on first use), the Snowball stemmer for English. Cached per word: a step's vocabulary and the
words people type repeat."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from dialogs.typed.normalise import is_cyrillic

_LOCK = threading.Lock()
_ANALYZERS: dict[str, Any] = {}
_STEMMER: list[Any] = []


def _analyzer(language: str) -> Any:
    analyzer = _ANALYZERS.get(language)
    if analyzer is None:
        with _LOCK:
            analyzer = _ANALYZERS.get(language)
            if analyzer is None:
                import pymorphy3

                analyzer = pymorphy3.MorphAnalyzer(lang=language)
                _ANALYZERS[language] = analyzer
    return analyzer


def _stemmer() -> Any:
    if not _STEMMER:
        import snowballstemmer

        _STEMMER.append(snowballstemmer.stemmer("english"))
    return _STEMMER[0]


@lru_cache(maxsize=65536)
def lemma(word: str, language: str) -> str:
    """The dictionary form of one normalised word, read in `language` when it is written in
    that language's script (Cyrillic in ru / uk, Latin in en); otherwise in the language of
    its script (Russian for Cyrillic typed by an English speaker, English for Latin)."""
    if not word or word[0].isdigit():
        return word
    if is_cyrillic(word):
        return _analyzer(language if language in ("ru", "uk") else "ru").parse(word)[0] \
            .normal_form.replace("ё", "е")
    if word.isascii():
        return _stemmer().stemWord(word.replace("'", ""))
    return word


@lru_cache(maxsize=65536)
def lemmas(word: str, language: str) -> tuple[str, ...]:
    """Every reading worth trying: the word's lemma in `language`, and for Cyrillic also in
    the other Cyrillic language (people in Ukraine type Russian, and the other way round)."""
    first = lemma(word, language)
    if not is_cyrillic(word):
        return (first,)
    other = lemma(word, "uk" if language == "ru" else "ru")
    return (first,) if other == first else (first, other)
