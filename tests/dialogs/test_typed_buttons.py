"""Every shipped quiz can be got through by typing alone, in each of its languages (issue
26's "done when"); the buttons that are not options (a message's, the consent's, the
marketing question's) are pressed by typing, strictly: a consent is never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.engine.actions import RecordConsent
from dialogs.format.loader import load_flow
from dialogs.typed.buttons import AGREE, DECLINE, pressed
from tests.dialogs.chat import Chat

FLOWS = sorted(p for p in (Path(__file__).parents[2] / "dialogs" / "flows").glob("*.yaml")
               if not p.name.endswith(".scenarios.yaml"))
AGREES = {"ru": "согласен", "uk": "згоден", "en": "I agree"}
NO_MARKETING = {"ru": "нет", "uk": "ні", "en": "no"}


def flow_of(path: Path):
    loaded = load_flow(path)
    return loaded[0] if isinstance(loaded, tuple) else loaded


def typed_for(chat: Chat, language: str) -> str:
    """What a prospect types at the step they are at: an option's words, «начать», «да»."""
    step = chat.flow.steps[chat.state.step]
    if step.kind in ("single_choice", "multiple_choice"):
        return step.options[0].text[language].lower()
    if step.kind == "message":
        return {"ru": "начать", "uk": "почати", "en": "start"}[language]
    if step.kind == "consent":
        return (NO_MARKETING if chat.state.phase == "marketing" else AGREES)[language]
    if step.kind == "contact":
        return {"name": "Olga", "phone": "+79161234567",
                "email": "olga@example.com"}.get(chat.state.phase, "Olga")
    if step.kind == "number":
        return str(int((step.min or 0) + 10))
    return "hello there"


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_every_shipped_quiz_can_be_answered_by_typing_alone(path):
    flow = flow_of(path)
    for language in flow.languages:
        chat = Chat(flow, language)
        for _ in range(60):
            if chat.state.finished:
                break
            where = (chat.state.step, chat.state.phase)
            chat.text(typed_for(chat, language))
            assert (chat.state.step, chat.state.phase) != where or chat.state.finished, (
                f"{flow.id} ({language}) stuck at {where}: {chat.said()[:120]}")
        assert chat.state.finished, f"{flow.id} ({language}) did not finish"
        granted = [a.purpose for a in chat.log if isinstance(a, RecordConsent) and a.granted]
        assert granted == ["processing"], (flow.id, language, granted)  # «нет» to marketing


CONSENT = {"accept": ["Согласен(на)", "Погоджуюсь", "I agree", *AGREE],
           "decline": ["Не сейчас", "Не зараз", "Not now", *DECLINE]}


@pytest.mark.parametrize("typed, expected", [
    ("согласен", "accept"), ("Согласна!", "accept"), ("соглсен", "accept"),
    ("i agree", "accept"), ("погоджуюсь", "accept"), ("да", "accept"),
    ("не согласен", "decline"), ("не сейчас", "decline"), ("i do not agree", "decline"),
    ("нет", "decline"), ("ні", "decline"),
    # never a guess: negated, unrelated, or both at once
    ("не соглашусь ни за что", None), ("ну может быть", None), ("согласен или нет", None),
    ("not agree", None), ("", None), ("😀", None),
])
def test_a_consent_is_pressed_only_when_the_text_says_it(typed, expected):
    assert pressed(typed, CONSENT) == expected


def test_a_negated_agreement_never_agrees():
    for word in AGREE:
        for negation in ("не ", "not ", "ні "):
            assert pressed(negation + word, {"accept": CONSENT["accept"]}) is None


def test_a_forwarded_i_agree_is_no_consent():
    from dialogs.engine.events import TextMessage

    flow = flow_of(next(p for p in FLOWS if p.stem == "kitchen-quiz"))
    chat = Chat(flow, "en")
    while chat.flow.steps[chat.state.step].kind != "consent":
        chat.text(typed_for(chat, "en"))
    chat.send(TextMessage("I agree", forwarded=True))
    assert chat.state.step == "consent" and not chat.of(RecordConsent)
    chat.text("I agree")
    assert [a.purpose for a in chat.of(RecordConsent)] == ["processing"]
