"""Numbers written in words, in Russian, Ukrainian and English: cardinals («пятьдесят»,
"fifty", «двісті п'ятдесят»), halves («полтора», «два с половиной», "one and a half"),
multipliers («тыс», "k", «млн») and ordinals («третий», «третю», "3rd", «2-й»). Words are
compared by lemma (dialogs/typed/lemmas.py) so every case and gender counts."""

from __future__ import annotations

import re
from functools import lru_cache

from dialogs.typed.lemmas import lemma
from dialogs.typed.normalise import words

_UNITS = {
    # ru
    "ноль": 0, "нуль": 0, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6,
    "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
    "тринадцать": 13, "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16,
    "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19, "двадцать": 20, "тридцать": 30,
    "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80,
    "девяносто": 90, "сто": 100, "двести": 200, "триста": 300, "четыреста": 400,
    "пятьсот": 500, "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
    "полтора": 1.5, "полторы": 1.5, "пол": 0.5, "оба": 2, "пара": 2,
    # uk
    "одна": 1, "дві": 2, "чотири": 4, "п'ять": 5, "шість": 6, "сім": 7, "вісім": 8,
    "дев'ять": 9, "одинадцять": 11, "дванадцять": 12, "тринадцять": 13,
    "чотирнадцять": 14, "п'ятнадцять": 15, "шістнадцять": 16, "сімнадцять": 17,
    "вісімнадцять": 18, "дев'ятнадцять": 19, "двадцять": 20, "тридцять": 30,
    "п'ятдесят": 50, "шістдесят": 60, "сімдесят": 70, "вісімдесят": 80, "дев'яносто": 90,
    "двісті": 200, "чотириста": 400, "п'ятсот": 500, "шістсот": 600,
    "сімсот": 700, "вісімсот": 800, "дев'ятсот": 900, "півтора": 1.5, "півтори": 1.5,
    # en
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "couple": 2,
}
_HUNDRED = {"hundred": 100, "сотня": 100}
_MULTIPLIERS = {
    "тысяча": 1e3, "тыс": 1e3, "тысяч": 1e3, "к": 1e3, "k": 1e3, "тисяча": 1e3,
    "тис": 1e3, "тисяч": 1e3, "thousand": 1e3, "grand": 1e3, "миллион": 1e6, "млн": 1e6,
    "мільйон": 1e6,
    "million": 1e6, "mln": 1e6,
}
_HALF = {"половина": 0.5, "половиною": 0.5, "половинка": 0.5, "half": 0.5, "пів": 0.5}
_JOINERS = {"с", "з", "and", "і", "и", "й"}

_ORDINALS = {
    # ru
    "первый": 1, "второй": 2, "третий": 3, "четвертый": 4, "пятый": 5, "шестой": 6,
    "седьмой": 7, "восьмой": 8, "девятый": 9, "десятый": 10,
    # uk
    "перший": 1, "другий": 2, "третій": 3, "четвертий": 4, "п'ятий": 5, "шостий": 6,
    "сьомий": 7, "восьмий": 8, "дев'ятий": 9, "десятий": 10,
    # en
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}
_LAST = {"последний", "останній", "last"}
_ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(?:й|я|е|ю|ий|ая|ое|ую|ой|ый|ої|у|st|nd|rd|th)$")


def _key(word: str, language: str) -> str:
    if word in _UNITS or word in _ORDINALS or word in _MULTIPLIERS or word in _HALF:
        return word
    return lemma(word, language)


@lru_cache(maxsize=8192)
def word_value(word: str, language: str) -> float | None:
    """One number word's value (a unit, ten, hundred or a half), or None."""
    key = _key(word, language)
    for table in (_UNITS, _HUNDRED):
        if key in table:
            return float(table[key])
    return None


@lru_cache(maxsize=8192)
def ordinal(word: str, language: str) -> int | None:
    """The position an ordinal word means: «третью» -> 3, "2nd" -> 2, «3-й» -> 3; -1 for
    «последний» / "last"; None when it is not an ordinal."""
    match = _ORDINAL_DIGITS.match(word)
    if match:
        return int(match.group(1))
    key = _key(word, language)
    if key in _LAST:
        return -1
    return _ORDINALS.get(key)


_SUFFIX = re.compile(r"(\d)([kк]|тыс|тис|млн)", re.IGNORECASE)


def parse_words(text: str, language: str) -> float | None:
    """A whole text that is a number in words (or digits with a word multiplier): «пятьдесят»,
    "two hundred fifty", «два с половиной», «полтора», "1,5 тыс", "1.5k", «сто тысяч»."""
    tokens = list(words(_SUFFIX.sub(r"\1 \2", text)))
    if not tokens:
        return None
    total = 0.0
    current = 0.0
    seen = False
    for index, token in enumerate(tokens):
        number = _digits(token, language)
        if number is not None:
            current += number
            seen = True
            continue
        key = _key(token, language)
        if key == "a":
            after = tokens[index + 1] if index + 1 < len(tokens) else ""
            if after in _HALF:
                continue
            if after not in _MULTIPLIERS and after not in _HUNDRED:
                return None
            current += 1
            seen = True
        elif key in _UNITS:
            current += _UNITS[key]
            seen = True
        elif key in _HUNDRED or token in _HUNDRED:
            current = (current or 1) * 100
            seen = True
        elif key in _MULTIPLIERS or token in _MULTIPLIERS:
            if not seen and not current:
                return None
            total += (current or 1) * _MULTIPLIERS.get(key, _MULTIPLIERS.get(token, 1))
            current = 0.0
        elif key in _HALF or token in _HALF:
            if not seen:
                return None
            current += 0.5
        elif token in _JOINERS and seen:
            continue
        else:
            return None
    return total + current if seen else None


def _digits(token: str, language: str) -> float | None:
    if not token[0].isdigit():
        return None
    raw = token.replace(",", ".") if language != "en" else token.replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if abs(value) < 1e15 else None  # "99999…" (or inf) is no answer


_NUMBER_RUN = re.compile(r"\d+(?:[.,]\d+)?")


def numbers_in(text: str, language: str) -> tuple[float, ...]:
    """Every number a text mentions, in digits or as single number words («две комнаты»)."""
    found: list[float] = []
    for token in words(text):
        if token[0].isdigit():
            match = _NUMBER_RUN.match(token)
            if match and len(match.group()) <= 15:
                found.append(float(match.group().replace(",", ".")))
        else:
            value = word_value(token, language)
            if value is not None and token not in ("a", "one", "пол", "пара", "оба", "couple"):
                found.append(value)
    return tuple(found)


def with_digits(text: str, language: str) -> str:
    """A normalised text with its single number words in digits, so that «больше пяти
    метров» reads as «больше 5 метров» ("more than five" as "more than 5")."""
    out = []
    for token in text.split(" "):
        value = None if not token or token[0].isdigit() or token in _NOT_ALONE else (
            word_value(token, language))
        out.append(token if value is None else f"{value:g}")
    return " ".join(out)


_NOT_ALONE = frozenset({"a", "one", "пол", "пара", "оба", "couple"})
