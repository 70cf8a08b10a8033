"""Random prospects through every shipped flow: nothing raises, every state is valid,
the input state is never changed, and a prospect who plays along always reaches an end."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.engine import callback
from dialogs.engine.actions import Button, EditMessage, RecordQualification, SendMessage
from dialogs.engine.core import step
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    OtherMessage,
    Restart,
    Start,
    Tap,
    TextMessage,
)
from dialogs.engine.state import State
from dialogs.format.schema import ContactStep, Flow, MultipleChoiceStep
from dialogs.lint.graph import waits
from tests.conftest import FLOWS_DIR

SHIPPED = sorted(p.name.removesuffix(".yaml") for p in FLOWS_DIR.glob("*.yaml")
                 if not p.name.endswith(".scenarios.yaml"))
USER = 5
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def assert_valid(flow: Flow, state: State) -> None:
    current = flow.steps[state.step]
    assert state.language in flow.languages
    assert set(state.answers) <= set(flow.steps)
    assert all(step_id in flow.steps for step_id in state.history)
    if isinstance(current, MultipleChoiceStep):
        assert set(state.selected) <= {o.id for o in current.options}
    else:
        assert state.selected == ()
    if isinstance(current, ContactStep):
        assert state.phase in ("name", "phone", "email")
    else:
        assert state.phase in ("", "marketing")
    if state.contact:  # personal data only after consent
        assert "processing" in state.consents
        assert set(state.contact) <= {"name", "phone", "email"}
    if state.finished:
        assert current.kind == "end" and state.outcome in ("handoff", "nurture", "close")
    else:
        assert waits(current), f"stopped at {state.step}, which does not wait"


def assert_sendable(actions: list) -> None:
    for action in actions:
        if isinstance(action, SendMessage | EditMessage):
            assert 0 < len(action.text) <= 4096
            for row in action.buttons:
                assert len(row) <= 8
                for button in row:
                    assert isinstance(button, Button) and button.text
                    if button.data:
                        assert len(button.data.encode()) <= 64


def options_now(flow: Flow, state: State) -> list[str]:
    current = flow.steps[state.step]
    return [o.id for o in getattr(current, "options", ())] + list(callback.ENGINE_OPTIONS)


@st.composite
def moves(draw, flow: Flow, state: State):
    """Any one thing a prospect can do in Telegram."""
    kind = draw(st.sampled_from(["tap", "tap", "tap", "tap", "stale", "text", "typed",
                                 "media", "back", "restart", "language", "contact"]))
    if kind == "tap":
        option = draw(st.sampled_from(options_now(flow, state)))
        return Tap(flow.id, flow.version, state.step, option)
    if kind == "stale":
        return Tap(draw(st.sampled_from([flow.id, "other"])), draw(st.integers(0, 3)),
                   draw(st.sampled_from([*flow.steps, "gone"])),
                   draw(st.sampled_from(["x", *callback.ENGINE_OPTIONS])))
    if kind == "text":
        return TextMessage(draw(st.text(max_size=60)))
    if kind == "typed":
        return TextMessage(draw(st.sampled_from(
            ["Іван", "+380671234567", "8 916 123-45-67", "ivan@gmail.com", "64", "12,5",
             "-1", "1e400", "Skip", "Пропустить", "/start", "0"])))
    if kind == "media":
        return OtherMessage(draw(st.sampled_from(["sticker", "photo", "voice", "location"])))
    if kind == "back":
        return Back()
    if kind == "restart":
        return Restart()
    if kind == "language":
        return ChangeLanguage(draw(st.sampled_from(["ru", "uk", "en", "de", ""])))
    owner = draw(st.sampled_from([USER, USER + 1, None]))
    return ContactShared(phone=draw(st.sampled_from(["79161234567", "380671234567", "1"])),
                         sender_user_id=USER, contact_user_id=owner)


@pytest.mark.parametrize("flow_id", SHIPPED)
@PROPERTY
@given(data=st.data())
def test_random_prospects_never_break_a_flow(shipped, flow_id, data):
    flow = shipped[flow_id]
    language = data.draw(st.sampled_from(["ru", "uk", "en", "pl", None]))
    state, actions = step(flow, None, Start(user_id=USER, language_code=language))
    assert_valid(flow, state)
    for _ in range(data.draw(st.integers(1, 40))):
        event = data.draw(moves(flow, state))
        snapshot = State.from_dict(state.to_dict())
        new_state, actions = step(flow, state, event)
        assert state == snapshot, "the engine changed its input state"
        assert_valid(flow, new_state)
        assert_sendable(actions)
        state = new_state


@st.composite
def cooperative_input(draw, flow: Flow, state: State):
    """What a prospect who plays along does at the current step."""
    current = flow.steps[state.step]
    if current.kind == "single_choice":
        return Tap(flow.id, flow.version, state.step, draw(st.sampled_from(
            [o.id for o in current.options])))
    if current.kind == "multiple_choice":  # ticks each option at most once, then done
        fresh = [o.id for o in current.options if o.id not in state.selected]
        pick = draw(st.sampled_from([*fresh, callback.DONE]))
        return Tap(flow.id, flow.version, state.step, pick)
    if current.kind == "number":
        low = current.min if current.min is not None else 0
        high = current.max if current.max is not None else low + 1000
        return TextMessage(str(draw(st.integers(int(low), int(high)))))
    if current.kind == "free_text":
        return TextMessage("A kitchen for a family of four")
    if current.kind == "consent":
        options = ([callback.MARKETING_YES, callback.MARKETING_NO] if state.phase
                   else [callback.ACCEPT, callback.DECLINE])
        return Tap(flow.id, flow.version, state.step, draw(st.sampled_from(options)))
    if current.kind == "contact":
        return {"name": TextMessage("Olena"), "email": TextMessage("olena@gmail.com"),
                "phone": ContactShared("380671234567", USER, USER)}[state.phase]
    return Tap(flow.id, flow.version, state.step, callback.CONTINUE)  # a message's button


@pytest.mark.parametrize("flow_id", SHIPPED)
@PROPERTY
@given(data=st.data())
def test_a_prospect_who_plays_along_reaches_an_end_with_a_qualification(shipped, flow_id,
                                                                          data):
    flow = shipped[flow_id]
    state, actions = step(flow, None, Start(user_id=USER, language_code="uk"))
    qualifications = []
    for _ in range(200):
        if state.finished:
            break
        state, actions = step(flow, state, data.draw(cooperative_input(flow, state)))
        qualifications += [a for a in actions if isinstance(a, RecordQualification)]
    assert state.finished, f"stuck at {state.step}"
    assert len(qualifications) == 1
    assert qualifications[0].outcome == state.outcome
    assert qualifications[0].temperature in ("cold", "warm", "hot")
