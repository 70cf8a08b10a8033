"""What a step's options (or a flow's FAQ) look like to the matcher, built once per (flow id,
version, step) and cached: every label in every language and every synonym, normalised and
as lemmas; each lemma's weight (a word found in one option says more than one found in all);
the numbers and ranges a label names («3–5 метров», «до 50 км»)."""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from dialogs.format.schema import Flow
from dialogs.typed.lemmas import lemma, lemmas
from dialogs.typed.normalise import normalise, words

# Words that carry no choice: dropped before comparing («хочу угловую» is «угловую»).
STOPWORDS = frozenset("""
в во на с со к ко у о об от до за из по под над при для про без а но же ли бы ну вот это
этот эта то там тут как что чтобы уже еще ещё тоже и или либо пожалуйста я мы
мне нам меня нас мой моя мое наш наша у вас вы вам ваш хотеть хочу хотим хотел нужен
нужна нужно надо думать думаю наверное скорее пожалуй будет буду быть есть был была
вариант ответ давайте давай і й та або чи що це цей ця ну мені нам мене нас мій
моя моє наш наша ви вам ваш хочу хочемо хотіти потрібен потрібна потрібно треба думаю
мабуть напевно буде бути є був з із зі від до за по під над при для про без але же ж
варіант відповідь давайте a an the and or of to in on at for with by from is are be it
its this that i we me my our you your want wants need needs would like please think
maybe probably just option answer will is am do does please some
""".split())  # noqa: SIM905
# Prepositions tell «за городом» from «в городе»: kept, but weigh little (PREPOSITION_WEIGHT).
PREPOSITIONS = frozenset("""
в во на с со к у о об от до за из по под над при без через после перед около возле
з із зі від після біля
in on at with by from within over under without after before near outside
""".split())  # noqa: SIM905
PREPOSITION_WEIGHT = 0.25
FILLERS = frozenset({"вариант", "номер", "пункт", "варіант", "option", "number", "no",
                     "ответ", "відповідь", "answer", "choice", "выбор", "вибір", "цифра"})

_RANGE = re.compile(r"(\d+(?:[.,]\d+)?)-(\d+(?:[.,]\d+)?)")
_FROM_TO = re.compile(r"\b(?:от|від|from|between)\s+(\d+(?:[.,]\d+)?)\s+(?:\S+\s+)?"
                      r"(?:до|to|and)\s+(\d+(?:[.,]\d+)?)")
_UP_TO = re.compile(r"\b(?:до|up to|under|below|less than|менее|меньше|менше|не более"
                    r"|не більше|within)\s+(\d+(?:[.,]\d+)?)")
_OVER = re.compile(r"\b(?:больше|более|свыше|over|more than|above|понад|більше|дальше"
                   r"|далі ніж|далі|farther than|further than|beyond|bigger than|longer than"
                   r"|larger than|greater than)\s+(\d+(?:[.,]\d+)?)")
_FROM = re.compile(r"\b(?:от|від|from)\s+(\d+(?:[.,]\d+)?)")
_LONE = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)(?![\d.,])")


_A_UNIT = re.compile(r"\b(?:a|an|one)\s+(?=(?:month|week|year|day|metre|meter|km|hour)s?\b)")


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def interval(label: str) -> tuple[float, float] | None:
    """The numbers a normalised label covers: «3-5 метров» (3, 5), «до 3 метров» (-inf, 3],
    «больше 5 метров» (5, inf), «2 комнаты» (2, 2); None when it names no number."""
    label = _A_UNIT.sub("1 ", label)  # "within a month" is within 1 month
    match = _RANGE.search(label) or _FROM_TO.search(label)
    if match:
        return _num(match.group(1)), _num(match.group(2))
    match = _UP_TO.search(label)
    if match:
        return -math.inf, _num(match.group(1))
    match = _OVER.search(label)
    if match:
        return math.nextafter(_num(match.group(1)), math.inf), math.inf
    match = _FROM.search(label)
    if match:
        return _num(match.group(1)), math.inf
    found = _LONE.findall(label)
    if len(found) == 1:
        return _num(found[0]), _num(found[0])
    return None


@dataclass(frozen=True, slots=True)
class Phrase:
    target: str  # an option id, or an FAQ entry id
    how: str  # "label" | "synonym" | "faq"
    norm: str
    lemmas: frozenset[str]
    key: tuple[str, ...]  # every word's lemma, in order: «за городом» == «за город»


@dataclass(slots=True)
class PhraseIndex:
    """Phrases of several targets (a step's options, or a flow's FAQ entries)."""

    targets: tuple[str, ...]
    phrases: list[Phrase] = field(default_factory=list)
    exact: dict[str, list[Phrase]] = field(default_factory=dict)
    keys: dict[tuple[str, ...], list[Phrase]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)  # a word as written -> its lemma
    intervals: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target -> its labels
    by_lemma: dict[str, list[int]] = field(default_factory=dict)  # lemma -> phrases with it
    by_first: dict[str, list[Phrase]] = field(default_factory=dict)  # multi-word, by 1st word
    norms: list[str] = field(default_factory=list)  # each phrase normalised, in order

    @property
    def names_numbers(self) -> bool:
        return bool(self.intervals)


def content(tokens: tuple[str, ...]) -> list[str]:
    return [t for t in tokens if (t not in STOPWORDS or t in PREPOSITIONS)
            and not t[0].isdigit()]


def _key_word(base: str) -> str:
    return "в" if base in ("у", "во", "уві") else base  # «у місті» is «в місті»


def build(targets: list[tuple[str, str, str, str]]) -> PhraseIndex:
    """`targets`: (target id, how, text, language) for every label / synonym / FAQ ask."""
    index = PhraseIndex(targets=tuple(dict.fromkeys(t[0] for t in targets)))
    holders: dict[str, set[str]] = {}
    for target, how, text, language in targets:
        norm = normalise(text)
        if not norm:
            continue
        found = set()
        for word in content(words(text)):
            base = _key_word(lemma(word, language))
            if base in STOPWORDS and base not in PREPOSITIONS:
                continue
            found.add(base)
            index.forms.setdefault(word, base)
            index.forms.setdefault(base, base)
            holders.setdefault(base, set()).add(target)
        key = tuple(_key_word(lemma(word, language)) for word in words(text))
        phrase = Phrase(target, how, norm, frozenset(found), key)
        for base in found:
            index.by_lemma.setdefault(base, []).append(len(index.phrases))
        if len(key) >= 2:
            index.by_first.setdefault(key[0], []).append(phrase)
        index.phrases.append(phrase)
        index.norms.append(norm)
        index.exact.setdefault(norm, []).append(phrase)
        index.keys.setdefault(key, []).append(phrase)
        if how == "label":
            index.labels[target] = (*index.labels.get(target, ()), norm)
            span = interval(norm)
            if span is not None:
                spans = index.intervals.setdefault(target, [])
                if span not in spans:
                    spans.append(span)
    index.weights = {base: (PREPOSITION_WEIGHT if base in PREPOSITIONS else 1.0) / len(owners)
                     for base, owners in holders.items()}
    return index


@dataclass(frozen=True, slots=True)
class Typed:
    """The typed text as the matcher reads it, against one index."""

    norm: str
    lemmas: frozenset[str]
    keys: tuple[tuple[str, ...], ...]  # the lemma sequences it may be (one per reading)
    unknown: int  # content words found in no phrase of the index
    fuzzy: bool  # a word was read through a typo
    negated: frozenset[str] = frozenset()  # lemmas right after «не», "not", «без», «кроме»
    negations: frozenset[str] = frozenset()  # the negating words themselves


def read(index: PhraseIndex, text: str, language: str) -> Typed:
    found: set[str] = set()
    read_as: dict[str, str] = {}
    unknown = 0
    fuzzy = False
    for word in content(words(text)):
        if word in PREPOSITIONS:
            base = _key_word(word)
            if base in index.weights:
                found.add(base)
            continue
        readings = lemmas(word, language)
        if any(r in STOPWORDS for r in readings):
            continue
        base = next((r for r in readings if r in index.weights), None)
        if base is None:
            base = index.forms.get(word)
        if base is None and len(word) >= 4 and index.forms:
            best = process.extractOne(word, index.forms.keys(), scorer=fuzz.ratio,
                                      score_cutoff=80 if len(word) >= 6 else 85)
            if best is not None:
                base, fuzzy = index.forms[best[0]], True
        if base is None:
            unknown += 1
            found.add(readings[0])
        else:
            found.add(base)
            read_as[word] = base
    tokens = words(text)
    keys = {tuple(_key_word(read_as.get(word) or lemma(word, language)) for word in tokens)}
    if language in ("ru", "uk"):
        other = "uk" if language == "ru" else "ru"
        keys.add(tuple(_key_word(read_as.get(word) or lemma(word, other)) for word in tokens))
    negated: set[str] = set()
    negations = {word for word in tokens if word in NEGATIONS}
    if negations:
        for place, word in enumerate(tokens):
            if word in NEGATIONS:
                following = [t for t in tokens[place + 1:place + 4] if t not in PREPOSITIONS
                             and t not in NEGATIONS][:2]
                negated.update(read_as.get(t) or lemma(t, language) for t in following)
    return Typed(normalise(text), frozenset(found), tuple(keys), unknown, fuzzy,
                 frozenset(negated), frozenset(negations))


def scores(index: PhraseIndex, typed: Typed) -> dict[str, tuple[float, str]]:
    """Each target's best score (0-100) against the typed text, and how it was reached."""
    best: dict[str, tuple[float, str]] = {}

    def keep(target: str, score: float, how: str) -> None:
        if score > best.get(target, (0.0, ""))[0]:
            best[target] = (score, how)

    for phrase in index.exact.get(typed.norm, ()):
        keep(phrase.target, 100.0, phrase.how)
    for key in typed.keys:
        for phrase in index.keys.get(key, ()):
            keep(phrase.target, 100.0, "fuzzy" if typed.fuzzy else
                 "lemma" if phrase.how == "label" else phrase.how)
    known = [base for base in typed.lemmas if base in index.weights]
    typed_weight = sum(index.weights[b] for b in known) + UNKNOWN_WEIGHT * typed.unknown
    near = sorted({n for base in known for n in index.by_lemma[base]})  # sharing a lemma
    covered: dict[str, set[str]] = {}  # target -> the typed lemmas any of its phrases has
    for n in near:
        phrase = index.phrases[n]
        covered.setdefault(phrase.target, set()).update(phrase.lemmas.intersection(known))
    for n in near:
        phrase = index.phrases[n]
        shared = phrase.lemmas.intersection(known)
        if _denied(typed, phrase, shared):
            continue
        got = sum(index.weights[b] for b in shared)
        whole = sum(index.weights[b] for b in phrase.lemmas)
        explained = sum(index.weights[b] for b in covered[phrase.target])
        score = min(100 * (0.4 * got / whole + 0.6 * explained / typed_weight),
                    99.0)  # below a label typed as it is
        if typed.fuzzy:  # read through a typo: less sure
            keep(phrase.target, score * FUZZY_FACTOR, "fuzzy")
        else:
            keep(phrase.target, score, _how(phrase))
    spans: list[tuple[int, int, Phrase]] = []  # phrases found word for word, where
    for key in typed.keys:
        for first in set(key):
            for phrase in index.by_first.get(first, ()):
                start = _find(key, phrase.key)
                if start is not None:
                    spans.append((start, start + len(phrase.key), phrase))
    for start, end, phrase in spans:  # one inside a longer one found is not counted
        if not any(s <= start and end <= e and e - s > end - start for s, e, _ in spans):
            keep(phrase.target, CONTAINED, _how(phrase))
    if len(typed.norm) >= 4 and (typed.unknown or typed.fuzzy):
        for _norm, ratio, n in process.extract(typed.norm, index.norms, scorer=fuzz.ratio,
                                                score_cutoff=80, limit=None):
            phrase = index.phrases[n]
            if typed.negations and not typed.negations <= set(phrase.key):
                continue  # «не угловая» is not a typo of «угловая»
            keep(phrase.target, min(ratio, 98.0), "faq" if phrase.how == "faq" else "fuzzy")
    return best


def _denied(typed: Typed, phrase: Phrase, shared: frozenset[str]) -> bool:
    """«не угловая», «без техники», "not within a month": the words shared with the phrase
    are negated in the text and the phrase does not say the negation itself."""
    return bool(typed.negated and shared & typed.negated
                and not typed.negations & set(phrase.key))


def _how(phrase: Phrase) -> str:
    return "synonym" if phrase.how == "synonym" else "faq" if phrase.how == "faq" else "lemma"


FUZZY_FACTOR = 0.85
UNKNOWN_WEIGHT = 0.5  # a word no phrase has (a town's name, "yep") counts half
CONTAINED = 90.0  # a whole phrase found word for word inside longer text
NEGATIONS = frozenset({"не", "not", "no", "ні", "без", "never", "dont", "don't", "кроме",
                       "крім", "except", "without", "нет"})


def _find(typed: tuple[str, ...], phrase: tuple[str, ...]) -> int | None:
    """Where `phrase` runs inside `typed`, not right after a negation; None if nowhere."""
    size = len(phrase)
    for start in range(len(typed) - size + 1):
        if typed[start:start + size] == phrase and (start == 0 or typed[start - 1]
                                                     not in NEGATIONS):
            return start
    return None


_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple, tuple[object, PhraseIndex]] = OrderedDict()
_CACHE_SIZE = 1024


def cached(key: tuple, owner: object, make) -> PhraseIndex:
    """The index for `key`, built by `make()` once; `owner` (the step or the FAQ tuple) is
    checked so that a flow edited without a new version (in the linter) is re-indexed."""
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is owner:
            _CACHE.move_to_end(key)
            return hit[1]
    index = make()
    with _LOCK:
        _CACHE[key] = (owner, index)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return index


def step_index(flow: Flow, step_id: str) -> PhraseIndex:
    step = flow.steps[step_id]

    def make() -> PhraseIndex:
        rows: list[tuple[str, str, str, str]] = []
        for option in getattr(step, "options", ()):
            for language, text in option.text.items():
                rows.append((option.id, "label", text, language))
            for language, phrasings in option.synonyms.items():
                rows.extend((option.id, "synonym", text, language) for text in phrasings)
        return build(rows)

    return cached((flow.id, flow.version, "step", step_id), step, make)


def faq_index(flow: Flow) -> PhraseIndex:
    def make() -> PhraseIndex:
        return build([(entry.id, "faq", text, language) for entry in flow.faq
                      for language, asks in entry.ask.items() for text in asks])

    return cached((flow.id, flow.version, "faq"), flow.faq, make)
