"""`leadbot simulate`: chat with a flow in the terminal, or feed it answers through a pipe.

Buttons are numbered; type the number to tap one. Commands: /back, /restart, /lang CODE,
/contact [PHONE] (share your own contact), /sticker, /photo, /quit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from dialogs.engine import callback
from dialogs.engine.actions import (
    Action,
    AnswerTap,
    Button,
    Close,
    EditMessage,
    GiveReward,
    HandOff,
    RecordQualification,
    ScheduleFollowUp,
    SendMessage,
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
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from dialogs.rules.validators import format_number

USER_ID = 1
SAMPLE_PHONE = "+447400123456"


class TerminalChat:
    def __init__(self, flow: Flow, out: TextIO, prompt: str = "") -> None:
        self.flow = flow
        self.out = out
        self.prompt = prompt
        self.buttons: list[Button] = []  # the latest keyboard, numbered from 1
        self.state: State | None = None
        self.qualification: RecordQualification | None = None

    def run(self, lines: Iterator[str], language: str | None, source: str | None) -> int:
        self.apply(Start(user_id=USER_ID, language_code=language, source=source,
                         seed="simulate"))
        while self.state is not None and not self.state.finished:
            if self.prompt:
                self.out.write(self.prompt)
                self.out.flush()
            line = next(lines, None)
            if line is None:
                self.print(f"\n(input ended at step '{self.state.step}' before the flow "
                           "finished)")
                return 1
            event = self.parse(line.rstrip("\n"))
            if event == "quit":
                return 1
            if event is not None:
                self.apply(event)
        self.summary()
        return 0

    def parse(self, line: str) -> Event | str | None:
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.buttons) and self.buttons:
            button = self.buttons[int(text) - 1]
            if button.data:
                return callback.unpack(button.data)
            self.print(f"  (a link: {button.url})")
            return None
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

    def show_buttons(self, keyboard: tuple[tuple[Button, ...], ...]) -> None:
        self.buttons = [button for row in keyboard for button in row]
        for number, button in enumerate(self.buttons, start=1):
            suffix = f" → {button.url}" if button.url else ""
            self.print(f"     [{number}] {button.text}{suffix}")

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
