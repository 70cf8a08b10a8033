"""`leadbot simulate`'s rule for buttons: where the bot asks you to type (a number, a text, a
contact), what you type is the answer, and #N taps button N (at any step); elsewhere N taps
button N. The numbers are those of the latest buttons shown, also after a question is asked
again. /quit is not a failure."""

from __future__ import annotations

import io

from bot.cli.simulate import TYPED_PROMPT, TerminalChat
from dialogs.format.loader import load_flows
from tests.conftest import FLOWS_DIR

# renovation-calculator in English: [1] Calculate, then the property: [2] a resale flat,
# then the floor area (a number step, 10 to 1,000 m², with [⬅ Back] under it)
TO_THE_AREA = "1\n2\n"
AREA = "What is the floor area in m²?"
PROPERTY = "What are we renovating?"


def simulate(command, lines: str, flow: str = "renovation-calculator"):
    return command("simulate", flow, "--lang", "en", stdin=lines)


def test_a_number_typed_where_a_number_is_asked_is_the_answer(command):
    code, out, _ = simulate(command, TO_THE_AREA + "1\n")
    after = out.split(AREA, 1)[1]
    assert "Please enter a number from 10 to 1,000." in after  # 1 m²: too small, as typed
    assert PROPERTY not in after  # before: 1 tapped [1] ⬅ Back
    assert code == 1  # the input ended before the flow did


def test_a_button_at_a_typed_question_is_tapped_with_a_hash(command):
    _, out, _ = simulate(command, TO_THE_AREA + "#1\n")
    after = out.split(AREA, 1)[1]
    assert after.splitlines()[1].strip() == "[#1] ⬅ Back"  # shown as it is typed
    assert PROPERTY in after  # #1 tapped ⬅ Back


def test_at_a_choice_a_number_still_taps_and_a_hash_too(command):
    plain = simulate(command, "1\n2\n")[1]
    hashed = simulate(command, "#1\n#2\n")[1]
    assert "(Your answer: A resale flat)" in plain and "(Your answer: A resale flat)" in hashed
    assert "[1] A flat in a new build" in plain  # no # where a number is a button


def test_button_numbers_keep_working_after_the_question_is_asked_again(command):
    # the email (a contact step): [1] Skip [2] ⬅ Back; a wrong address is asked again
    # without the buttons, and #1 must still be Skip
    lines = ["1", "2", "64", "2", "1", "5", "1", "1", "1", "2", "Olena", "+380671234567",
             "not-an-email", "#1"]
    code, out, _ = simulate(command, "\n".join(lines) + "\n")
    assert code == 0, out[-1500:]  # before: the buttons were forgotten, #1 an email
    assert "outcome: handoff" in out


def test_a_button_number_that_is_not_there_is_told(command):
    _, out, _ = simulate(command, TO_THE_AREA + "#7\n")
    assert "(no button #7: the buttons are #1 to #1)" in out


def test_quit_is_not_a_failure(command):
    code, _, _ = simulate(command, TO_THE_AREA + "/quit\n")
    assert code == 0  # before: 1, as if the flow were broken
    ended = simulate(command, TO_THE_AREA)
    assert ended[0] == 1 and "input ended at step 'area'" in ended[1]


def test_the_prompt_says_how_to_tap_where_an_answer_is_typed():
    flow = load_flows([FLOWS_DIR / "renovation-calculator.yaml"])["renovation-calculator"].flow
    out = io.StringIO()
    chat = TerminalChat(flow, out, interactive=True)
    assert chat.run(iter(["1\n", "2\n", "/quit\n"]), "en", None) == 0
    prompts = [line for line in out.getvalue().splitlines() if line.endswith("> ")
               or "> " in line]
    assert prompts[-1] == TYPED_PROMPT  # at the area: "your answer (#N taps a button)> "
    assert "#N taps a button" in TYPED_PROMPT
    assert prompts[0] == "> "  # at a choice: a number is a button
