"""`leadbot simulate`: chat with a flow in the terminal, or feed it answers through a pipe.
HELP (its --help) is the rule for buttons and the commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from dialogs.engine import callback
from dialogs.engine.actions import (
    Action,
    AnswerTap,
    Button,
    Close,
    EditMessage,
    FaqHit,
    GiveReward,
    HandOff,
    RecordAnswer,
    RecordQualification,
    ScheduleFollowUp,
    SendMessage,
    Unmatched,
)
from dialogs.engine.core import step
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    Event,
    OtherMessage,
    Restart,
    Start,
    TextMessage,
)
from dialogs.engine.kinds import KINDS
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from dialogs.rules.validators import format_number

HELP = ("Chat with a flow in the terminal, or pipe the answers in, one a line. Buttons are "
        "numbered: type 2 to tap [2]. Where the bot asks you to type (a number, a text, a name, "
        "a phone, an email), what you type is your answer, 1 included, and the buttons show "
        "as [#1]: type #1 to tap one (#N taps button N at any step). The numbers are those of "
        "the latest buttons shown, also after the bot asks again. Commands: /back, /restart, "
        "/lang CODE, /contact [PHONE] (share your own contact), /sticker, /photo, /quit "
        "(exit 0). Exit 1 when the input ends before the flow does.")
USER_ID = 1
SAMPLE_PHONE = "+447400123456"
# where a typed line is the answer, a digit included (at a choice step a digit taps the
# button of that number; other text is still sent, read as a typed answer; the same at a
# message's button and the consent)
TYPED = frozenset(kind for kind, rules in KINDS.items() if rules.text is not None
                  ) - {"single_choice", "multiple_choice", "message", "consent"}
TAP = re.compile(r"^#(\d+)$")  # a button by number at any step
PROMPT, TYPED_PROMPT = "> ", "your answer (#N taps a button)> "


class TerminalChat:
    def __init__(self, flow: Flow, out: TextIO, interactive: bool = False) -> None:
        self.flow = flow
        self.out = out
        self.interactive = interactive  # a terminal: a prompt before each line
        # the latest keyboard shown, numbered from 1: kept until another replaces it or the
        # bot removes it (a message without buttons, as an answer asked again, keeps it)
        self.buttons: list[Button] = []
        self.state: State | None = None
        self.qualification: RecordQualification | None = None

    def run(self, lines: Iterator[str], language: str | None, source: str | None) -> int:
        self.apply(Start(user_id=USER_ID, language_code=language, source=source,
                         seed="simulate"))
        while self.state is not None and not self.state.finished:
            if self.interactive:
                self.out.write(TYPED_PROMPT if self.typed() and self.buttons else PROMPT)
                self.out.flush()
            line = next(lines, None)
            if line is None:
                self.print(f"\n(input ended at step '{self.state.step}' before the flow "
                           "finished)")
                return 1
            event = self.parse(line.rstrip("\n"))
            if event == "quit":
                return 0  # asked for: not a failure
            if event is not None:
                self.apply(event)
        self.summary()
        return 0

    def typed(self) -> bool:
        """Whether the step waits for typed text (a number, a text, a contact): there a
        number is the answer, not a button."""
        step = self.flow.steps.get(self.state.step) if self.state and self.state.step else None
        return step is not None and step.kind in TYPED

    def parse(self, line: str) -> Event | str | None:
        text = line.strip()
        tap = TAP.match(text)
        if tap or (text.isdigit() and not self.typed()
                   and 1 <= int(text) <= len(self.buttons)):
            return self.tap(int(tap.group(1) if tap else text))
        command, _, argument = text.partition(" ")
        simple = {"/back": Back(), "/restart": Restart(), "/sticker": OtherMessage("sticker"),
                  "/photo": OtherMessage("photo"), "/quit": "quit"}
        if command in simple:
            return simple[command]
        if command == "/lang":
            return ChangeLanguage(argument.strip())
        if command == "/contact":
            return ContactShared(phone=argument.strip() or SAMPLE_PHONE,
                                 sender_user_id=USER_ID, contact_user_id=USER_ID)
        return TextMessage(line)

    def tap(self, number: int) -> Event | None:
        if not 1 <= number <= len(self.buttons):
            self.print(f"  (no button #{number}: " + (
                f"the buttons are #1 to #{len(self.buttons)})" if self.buttons
                else "no buttons are shown)"))
            return None
        button = self.buttons[number - 1]
        if button.data:
            return callback.unpack(button.data)
        self.print(f"  (a link: {button.url})")
        return None

    def apply(self, event: Event) -> None:
        self.state, actions = step(self.flow, self.state, event)
        for action in actions:
            self.show(action)

    def show(self, action: Action) -> None:
        if isinstance(action, SendMessage):
            self.print(f"\nbot: {action.text}")
            if action.file:
                self.print(f"     📎 {action.file}")
            self.show_buttons(action.buttons)
            if action.reply_keyboard:
                keyboard = action.reply_keyboard
                self.print(f"     [{keyboard.request_contact}: /contact]"
                           + (f"  [{keyboard.skip}]" if keyboard.skip else ""))
        elif isinstance(action, EditMessage):
            if action.buttons:
                self.show_buttons(action.buttons)
            else:
                self.buttons = []  # the answered question's buttons are gone
                self.print(f"     ({action.text.rsplit(chr(10), 1)[-1]})")
        elif isinstance(action, AnswerTap) and action.text:
            self.print(f"     ⓘ {action.text}")
        elif isinstance(action, RecordQualification):
            self.qualification = action
        elif isinstance(action, HandOff):
            self.print(f"  » handed off to the managers ({action.temperature}, "
                       f"score {action.score})")
        elif isinstance(action, ScheduleFollowUp) and action.kind != "reminder":
            self.print(f"  » follow-up '{action.key}' scheduled in {action.delay_seconds} s"
                       + (f" after the one before ({action.sequence})" if action.position
                          else ""))
        elif isinstance(action, GiveReward):
            self.print(f"  » reward given: {action.code or action.file or action.url}")
        elif isinstance(action, Close):
            self.print(f"  » closed ({action.reason})")
        elif isinstance(action, RecordAnswer) and action.typed:
            self.print(f"  » typed: {action.typed}")
        elif isinstance(action, FaqHit):
            self.print(f"  » FAQ answered: {action.entry}")
        elif isinstance(action, Unmatched):
            self.print("  » not understood: kept (masked) for report --unmatched")

    def show_buttons(self, keyboard: tuple[tuple[Button, ...], ...]) -> None:
        if not keyboard:
            return  # no new keyboard: the one before is still there to tap
        self.buttons = [button for row in keyboard for button in row]
        mark = "#" if self.typed() else ""
        for number, button in enumerate(self.buttons, start=1):
            suffix = f" → {button.url}" if button.url else ""
            self.print(f"     [{mark}{number}] {button.text}{suffix}")

    def summary(self) -> None:
        q = self.qualification
        if q is None or self.state is None:
            return
        self.print("\n— result —")
        self.print(f"score: {q.score}  temperature: {q.temperature}  target: "
                   f"{'yes' if q.target else 'no'}  MQL: {'yes' if q.mql else 'no'}  "
                   f"SQL: {'yes' if q.sql else 'no'}")
        self.print(f"discount: {format_number(q.discount, 'en')} %  outcome: {q.outcome}")
        for name, value in self.state.results.items():
            self.print(f"{name}: {format_number(value, 'en')}")
        if q.breakdown:
            self.print("score by answer: " + ", ".join(
                f"{item.step}={item.answer} {item.points:+d}" for item in q.breakdown))

    def print(self, text: str) -> None:
        self.out.write(text + "\n")
