"""What typed text means at a step: one option (or several at a multiple choice), two
close candidates ("did you mean"), an FAQ entry, or nothing (docs/typed.md).

THE INTERFACE (issue 26): `understand(flow, step_id, text, language) -> Understood`.

How: the text is normalised (case, ё, punctuation, emoji) and read as lemmas; it is compared
with every option's labels in every language and its synonyms (exact, by lemma with each
word weighted by how few options share it, and fuzzily for typos); a number picks the option
whose label names it («4 метра» -> «3–5 метров») or, where no label names a number, the
option at that position, as an ordinal does («третий», "2nd"). A typed list at a multiple
choice is split into its items. The best option is chosen only when it is clearly ahead of
the next one; close scores come back "ambiguous" with the two candidates, never a guess.
"""

from __future__ import annotations

from dialogs.format.schema import Flow
from dialogs.typed import faq as faqs
from dialogs.typed.index import (
    FILLERS,
    STOPWORDS,
    PhraseIndex,
    interval,
    read,
    scores,
    step_index,
)
from dialogs.typed.lemmas import lemma
from dialogs.typed.normalise import LIST_SPLIT, OR_SPLIT, normalise, words
from dialogs.typed.numbers import numbers_in, ordinal, parse_words, with_digits
from dialogs.typed.result import NONE, Understood

__all__ = ["Understood", "understand"]

OPTION_MIN = 70.0  # the best score an option needs to be chosen ...
MARGIN = 15.0  # ... and its lead over the next option
AMBIGUOUS_MIN = 55.0  # below: nothing matched
WEAK_MIN, WEAK_MARGIN = 60.0, 35.0  # a lower best is chosen when nothing else comes near
SURE = 95.0  # a whole-text match this good is not split into a list
UNEXPLAINED_NUMBER = 0.8  # the score of an option whose labels do not name the number typed

_ALL = frozenset({"все", "всё", "усе", "всі", "все перечисленное", "все варианты", "all",
                  "everything", "all of them", "all of the above", "всё сразу", "все сразу",
                  "усе одразу", "всі варіанти", "все выше", "всё перечисленное"})




def understand(flow: Flow, step_id: str, text: str, language: str) -> Understood:
    step = flow.steps[step_id]
    if len(text) > 500 or not normalise(text):
        return NONE
    found_faq = faqs.best(flow, text, language)
    kind = getattr(step, "kind", "")
    if kind not in ("single_choice", "multiple_choice"):
        return found_faq or NONE
    index = step_index(flow, step_id)
    if kind == "multiple_choice":
        result = _multiple(index, text, language)
    else:
        result = _single(index, text, language)
    asked = text.rstrip().endswith("?")
    if found_faq is not None and (found_faq.score > result.score
                                  or (asked and result.score < 100.0)
                                  or (asked and found_faq.score == result.score)):
        return found_faq  # a question that is an FAQ's, unless it is an option word for word
    return result


def _single(index: PhraseIndex, text: str, language: str) -> Understood:
    whole = _match(index, text, language)
    if whole.kind == "option" and whole.score >= 100.0:
        return whole
    parts = _parts(text, OR_SPLIT, LIST_SPLIT)
    if len(parts) >= 2:
        chosen = _chosen(index, parts, language)
        if len(chosen) >= 2:  # «угловую или прямую»: which one?
            return Understood("ambiguous", chosen[:2], how="lemma", score=whole.score)
    return whole


def _multiple(index: PhraseIndex, text: str, language: str) -> Understood:
    norm = normalise(text)
    if norm in _ALL or " ".join(t for t in norm.split() if t not in STOPWORDS) in _ALL:
        return Understood("option", index.targets, how="lemma", score=90.0)
    whole = _match(index, text, language)
    if whole.kind == "option" and whole.score >= SURE:
        return whole
    parts = _parts(text, LIST_SPLIT, OR_SPLIT)
    if len(parts) < 2:
        return whole
    results = [_match(index, part, language) for part in parts]
    for result in results:
        if result.kind == "ambiguous":
            return result
    chosen = tuple(dict.fromkeys(o for r in results if r.kind == "option" for o in r.options))
    if not chosen:
        return whole
    hows = {r.how for r in results if r.kind == "option"}
    order = {option: n for n, option in enumerate(index.targets)}
    return Understood("option", tuple(sorted(chosen, key=order.__getitem__)),
                      how=hows.pop() if len(hows) == 1 else "lemma",
                      score=min(r.score for r in results if r.kind == "option"))


def _parts(text: str, *splitters) -> list[str]:
    parts = [text]
    for splitter in splitters:
        parts = [piece for part in parts for piece in splitter.split(part)]
    return [part for part in parts if normalise(part)
            and any(w not in STOPWORDS for w in words(part))]


def _chosen(index: PhraseIndex, parts: list[str], language: str) -> tuple[str, ...]:
    found: list[str] = []
    for part in parts:
        result = _match(index, part, language)
        if result.kind == "option" and result.options[0] not in found:
            found.append(result.options[0])
    return tuple(found)


def _match(index: PhraseIndex, text: str, language: str) -> Understood:
    """One item of text against the step's options."""
    positional = _position(index, text, language)
    if positional is not None:
        return positional
    typed = read(index, text, language)
    best = scores(index, typed)
    named = None if typed.negations else _by_number(index, text, language)  # "not within 3"
    if named is not None:  # a number typed: options whose label names another are out
        for option in index.intervals:
            if option not in named:
                best.pop(option, None)
        level = max((best.get(o, (0.0, ""))[0] for o in named), default=0.0)
        for option in named:  # two named («in a month»: «within a month», «in 1–3 months»)
            score = level if len(named) > 1 and level < 100.0 else best.get(
                option, (0.0, ""))[0]  # stay level: the number cannot tell them apart
            best[option] = (max(score, 90.0), "number")
        if named:  # the number is not explained by the others («за 2 місяці»: not «за місяць»)
            for option, (score, how) in list(best.items()):
                if option not in named and score < 100.0:
                    best[option] = (score * UNEXPLAINED_NUMBER, how)
    return _decide(index, best)


def _decide(index: PhraseIndex, best: dict[str, tuple[float, str]]) -> Understood:
    ranked = sorted(best.items(), key=lambda item: -item[1][0])
    if not ranked:
        return NONE
    top, (score, how) = ranked[0]
    second = ranked[1][1][0] if len(ranked) > 1 else 0.0
    if score >= 100.0 > second:  # a label or synonym as it is (or in another form)
        return Understood("option", (top,), how=how, score=score)
    if (score >= OPTION_MIN and score - second >= MARGIN) or (
            score >= WEAK_MIN and score - second >= WEAK_MARGIN):
        return Understood("option", (top,), how=how, score=score)
    if score >= AMBIGUOUS_MIN and len(index.targets) >= 2:
        if second < AMBIGUOUS_MIN and how == "fuzzy" and score < OPTION_MIN:
            return NONE  # one weak lead through a typo: «погода» is not «полгода»
        other = ranked[1][0] if len(ranked) > 1 else next(t for t in index.targets if t != top)
        return Understood("ambiguous", (top, other), how=how, score=score)
    return NONE


def _position(index: PhraseIndex, text: str, language: str) -> Understood | None:
    """«2», «вариант 2», «второй», "the 3rd one": the option at that position."""
    tokens = [t for t in words(text) if t not in FILLERS and t not in STOPWORDS
              and t not in ("один", "one", "№")]
    if not tokens:
        tokens = [t for t in words(text) if t not in FILLERS]
    joined = " ".join(tokens)
    if len(tokens) == 2 and tokens[0].isdigit() and not tokens[1][0].isdigit():
        joined = tokens[0] + tokens[1]  # «2 й», "3 rd"
    place = ordinal(joined, language) if " " not in joined else None
    how = "ordinal"
    if place is None:
        if index.names_numbers or len(tokens) != 1:
            return None
        value = parse_words(joined, language)
        if value is None or not value.is_integer():
            return None
        place = int(value)
    count = len(index.targets)
    if place == -1:
        place = count
    if not 1 <= place <= count:
        return None
    return Understood("option", (index.targets[place - 1],), how=how, score=95.0)


# Units a number may come with; one the step's labels never use means another measure
# («через пару недель» is not «через 1–3 месяца»).
_UNITS = {  # a unit's lemma in ru / uk / en (stemmed) -> one name for it
    **dict.fromkeys(("метр", "м", "metr", "meter", "metre", "m"), "m"),
    **dict.fromkeys(("километр", "кілометр", "км", "kilometr", "km"), "km"),
    **dict.fromkeys(("сантиметр", "см", "centimetr", "cm"), "cm"),
    **dict.fromkeys(("день", "day"), "day"),
    **dict.fromkeys(("неделя", "тиждень", "week"), "week"),
    **dict.fromkeys(("месяц", "місяць", "month"), "month"),
    **dict.fromkeys(("год", "рік", "year", "полгода", "півроку"), "year"),
    **dict.fromkeys(("час", "година", "hour"), "hour"),
}


def _units(text: str, language: str) -> set[str]:
    return {_UNITS[base] for base in (lemma(word, language) for word in words(text))
            if base in _UNITS}


def _by_number(index: PhraseIndex, text: str, language: str) -> list[str] | None:
    """Options whose label names a number the text names («4 метра» -> «3–5 метров»); None
    when the text names no number or no label does."""
    if not index.names_numbers:
        return None
    units = _units(text, language)
    if units:  # only options that measure in the unit typed
        holders = {phrase.target for phrase in index.phrases
                   if units <= {_UNITS[base] for base in phrase.lemmas if base in _UNITS}}
        if not holders.intersection(index.intervals):
            return None
        named = _by_number_in(index, text, language)
        return None if named is None else [o for o in named if o in holders] or None
    return _by_number_in(index, text, language)


def _by_number_in(index: PhraseIndex, text: str, language: str) -> list[str] | None:
    span = interval(with_digits(normalise(text), language).replace(" - ", "-"))
    if span is None:
        values = numbers_in(text, language)
        if not values:
            return None
        inside = [option for option, spans in index.intervals.items()
                  if all(any(lo <= v <= hi for lo, hi in spans) for v in values)]
        if inside:
            return inside
        return [option for option, spans in index.intervals.items()
                if any(lo <= v <= hi for lo, hi in spans for v in values)]
    low, high = span  # «больше 5», "less than 3 m", «2-4 метра»
    inside = [option for option, spans in index.intervals.items()
              if any(lo <= low and high <= hi for lo, hi in spans)]
    if inside:
        return inside
    return [option for option, spans in index.intervals.items()
            if any(min(hi, high) > max(lo, low) for lo, hi in spans)]
