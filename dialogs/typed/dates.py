"""When a prospect says something will happen, typed in words (a stretch of issue 26):
`parse_when(text, language, today) -> date | None` for «в марте», «через месяц», «весной»,
"next month", «через 2 недели», "in three weeks", «завтра», «через полгода». A month or a
season means its first day, the next one to come (this month: today)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from dialogs.typed.lemmas import lemma
from dialogs.typed.normalise import words
from dialogs.typed.numbers import parse_words

_MONTHS = {
    # ru (lemmas)
    "январь": 1, "февраль": 2, "март": 3, "апрель": 4, "май": 5, "июнь": 6, "июль": 7,
    "август": 8, "сентябрь": 9, "октябрь": 10, "ноябрь": 11, "декабрь": 12,
    # uk (lemmas)
    "січень": 1, "лютий": 2, "березень": 3, "квітень": 4, "травень": 5, "червень": 6,
    "липень": 7, "серпень": 8, "вересень": 9, "жовтень": 10, "листопад": 11, "грудень": 12,
    "січні": 1, "лютому": 2, "березні": 3, "квітні": 4, "травні": 5, "червні": 6,
    "липні": 7, "серпні": 8, "вересні": 9, "жовтні": 10, "листопаді": 11, "грудні": 12,
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_SEASONS = {
    "весна": 3, "весной": 3, "навесні": 3, "spring": 3,
    "лето": 6, "летом": 6, "літо": 6, "влітку": 6, "summer": 6,
    "осень": 9, "осенью": 9, "осінь": 9, "восени": 9, "autumn": 9, "fall": 9,
    "зима": 12, "зимой": 12, "взимку": 12, "winter": 12,
}
_UNITS = {  # days in one
    "день": 1, "дня": 1, "дней": 1, "day": 1, "days": 1,
    "неделя": 7, "тиждень": 7, "week": 7, "weeks": 7,
    "месяц": 30, "місяць": 30, "month": 30, "months": 30,
    "год": 365, "рік": 365, "year": 365, "years": 365, "полгода": 182, "півроку": 182,
}
_AFTER = {"через", "за", "in", "після", "после", "within"}
_NEXT = {"следующий", "наступний", "next"}
_THIS = {"этот", "цей", "this"}
_DAYS = {"сегодня": 0, "сьогодні": 0, "today": 0, "завтра": 1, "tomorrow": 1,
         "послезавтра": 2, "післязавтра": 2}


def parse_when(text: str, language: str, today: date) -> date | None:
    tokens = words(text)
    if not tokens:
        return None
    bases = [_base(token, language) for token in tokens]
    for base in bases:
        if base in _DAYS:
            return today + timedelta(days=_DAYS[base])
    for base in bases:
        if base in _MONTHS and not (base == "may" and language != "en"):
            return _next_month_start(today, _MONTHS[base])
    for token, base in zip(tokens, bases, strict=True):
        season = _SEASONS.get(token) or _SEASONS.get(base)
        if season:
            return _next_month_start(today, season)
    for index, base in enumerate(bases):
        if base not in _UNITS:
            continue
        before = bases[:index]
        if (before and before[-1] in _NEXT) or (len(before) > 1 and before[-2] in _NEXT):
            return _shift(today, _UNITS[base], 1, next_start=True)
        if before and before[-1] in _THIS:
            return today
        count = 1.0
        number_words = [t for t, b in zip(tokens[:index], before, strict=True)
                        if b not in _AFTER and b not in ("a", "an", "one")]
        if number_words:
            value = parse_words(" ".join(number_words), language)
            if value is None:
                continue
            count = value
        if any(b in _AFTER for b in before) or not before or number_words:
            return _shift(today, _UNITS[base], count)
    return None


def _base(token: str, language: str) -> str:
    if token in _MONTHS or token in _SEASONS or token in _UNITS or token in _DAYS:
        return token
    return lemma(token, language)


def _next_month_start(today: date, month: int) -> date:
    if month == today.month:
        return today
    year = today.year if month > today.month else today.year + 1
    return date(year, month, 1)


def _shift(today: date, unit_days: int, count: float, next_start: bool = False) -> date:
    if unit_days == 30 and count == int(count):
        months = today.month - 1 + int(count)
        year, month = today.year + months // 12, months % 12 + 1
        if next_start:
            return date(year, month, 1)
        return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    if unit_days == 7 and next_start:
        return today + timedelta(days=7 - today.weekday())
    if unit_days == 365 and next_start:
        return date(today.year + 1, 1, 1)
    return today + timedelta(days=round(unit_days * count))
