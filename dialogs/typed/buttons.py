"""Buttons pressed by typing (docs/typed.md): a message's button («Начать», "next"), the
consent's («согласен» / «не согласен») and the marketing question's («да» / «нет»).

Stricter than options, because a consent is never guessed: the button's own label in any
language, or one of a few plain words for it, matched whole (after normalising), or a typo
of a label (rapidfuzz ratio ≥ 90 on labels of five letters or more). A text that negates
(«не», "not", «ні») never presses a button that does not negate itself: «не согласен» is
no agreement, «не начинать» no start. Two buttons matched at once: none is pressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz

from dialogs.typed.normalise import normalise

_NEGATIONS = frozenset({"не", "нет", "ні", "ни", "no", "not", "dont", "don't", "never",
                        "никогда", "ніколи", "без"})

GO = ("начать", "начнем", "начинаем", "давай", "давайте", "дальше", "далее", "продолжить",
      "поехали", "ок", "окей", "ok", "okay", "хорошо", "да", "го", "почати", "почнемо",
      "далі", "продовжити", "поїхали", "гаразд", "добре", "так", "start", "go", "next",
      "continue", "lets go", "let's go", "yes", "sure", "begin")
AGREE = ("согласен", "согласна", "я согласен", "я согласна", "да согласен", "да согласна",
         "даю согласие", "принимаю", "да", "згоден", "згодна", "я згоден", "я згодна",
         "погоджуюсь", "погоджуюся", "даю згоду", "так", "i agree", "agree", "yes",
         "i accept", "accept", "yes i agree", "agreed")
DECLINE = ("нет", "не согласен", "не согласна", "я не согласен", "я не согласна",
           "отказываюсь", "не хочу", "ні", "не згоден", "не згодна", "я не згоден",
           "відмовляюсь", "відмовляюся", "не хочу", "no", "i decline", "decline",
           "i do not agree", "i don't agree", "dont agree", "disagree", "no thanks")
YES = ("да", "хочу", "подписаться", "да хочу", "так", "хочу", "підписатися", "yes", "sure",
       "subscribe", "yes please")
NO = ("нет", "не надо", "нет спасибо", "не хочу", "ні", "ні дякую", "не треба", "no",
      "no thanks", "no thank you")


def _negates(text: str) -> bool:
    return any(word in _NEGATIONS for word in text.split())


def pressed(text: str, buttons: Mapping[str, Iterable[str]]) -> str | None:
    """Which of `buttons` (name -> its labels and words) the typed `text` presses, or None."""
    typed = normalise(text)
    if not typed:
        return None
    negated = _negates(typed)
    exact: set[str] = set()
    close: set[str] = set()
    for name, phrases in buttons.items():
        for phrase in {normalise(p) for p in phrases}:
            if not phrase or (negated and not _negates(phrase)):
                continue
            if phrase == typed:
                exact.add(name)
            elif len(phrase) >= 5 and fuzz.ratio(phrase, typed) >= 90:
                close.add(name)
    found = exact or close
    return next(iter(found)) if len(found) == 1 else None
