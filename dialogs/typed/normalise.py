"""Typed text made comparable: case folded, ё read as е, apostrophes unified, punctuation,
emoji and symbols turned into spaces, hyphenated words split ("п-образная" -> "п образная").
Digits stay, and a decimal point or comma between digits stays ("1,5")."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'", "ё": "е"})
# Anything that is not a letter, a digit or an apostrophe inside a word is a space; a ','
# or '.' between two digits is kept (a decimal), a '–' between digits becomes '-' (a range).
_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")
_DASH = re.compile(r"(?<=\d)\s*[-–—]\s*(?=\d)")
_APOS_EDGE = re.compile(r"(?<!\w)'|'(?!\w)")

# Clause separators: where a typed list splits into its items.
LIST_SPLIT = re.compile(
    r"\s*(?:[;/+&\n]|(?<!\d),|,(?!\d)|\bи\b|\bй\b|\bі\b|\bта\b|\band\b|\bплюс\b"
    r"|\bplus\b|\bа также\b|\bа ще\b|\bтакож\b|\bещ[её]\b|\bще\b|\balso\b)\s*")
# Words that offer alternatives ("угловую или прямую"): a single choice that cannot decide.
OR_SPLIT = re.compile(r"\s*(?:\bили\b|\bлибо\b|\bабо\b|\bчи\b|\bor\b|/)\s*")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Lowercase words and numbers separated by single spaces."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_APOSTROPHES)
    text = _DASH.sub("-", text)
    out: list[str] = []
    for index, char in enumerate(text):
        keep = char.isalnum() or char == "'" or (
            char in ".," and _DECIMAL.match(text, index) is not None) or (
            char == "-" and 0 < index < len(text) - 1 and text[index - 1].isdigit()
            and text[index + 1].isdigit())
        if keep:
            out.append(char)
        else:
            out.append(" ")
    return " ".join(_APOS_EDGE.sub(" ", "".join(out)).split())


def words(text: str) -> tuple[str, ...]:
    """The normalised words; a number range "3-5" is kept as two numbers."""
    return tuple(normalise(text).replace("-", " ").split())


def is_cyrillic(word: str) -> bool:
    return any("\u0400" <= char <= "\u04ff" for char in word)
