"""Drive the pure engine like a prospect would: `chat.tap("city")`, `chat.text("Ivan")`."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import Action, SendMessage
from dialogs.engine.core import step
from dialogs.engine.events import ContactShared, Event, OtherMessage, Start, Tap, TextMessage
from dialogs.format.scenarios import TAP_WORDS
from dialogs.format.schema import Flow

USER = 7


class Chat:
    def __init__(self, flow: Flow, language: str = "en", source: str | None = None,
                 seed: str = "seed") -> None:
        self.flow = flow
        self.state, self.actions = step(flow, None, Start(user_id=USER, language_code=language,
                                                          source=source, seed=seed))
        self.log: list[Action] = list(self.actions)

    def send(self, event: Event) -> list[Action]:
        self.state, self.actions = step(self.flow, self.state, event)
        self.log.extend(self.actions)
        return self.actions

    def tap(self, option: str, step_id: str | None = None) -> list[Action]:
        option = TAP_WORDS.get(option, option)
        return self.send(Tap(self.flow.id, self.flow.version, step_id or self.state.step, option))

    def text(self, text: str) -> list[Action]:
        return self.send(TextMessage(text))

    def share(self, phone: str, owner: int = USER) -> list[Action]:
        return self.send(ContactShared(phone=phone, sender_user_id=USER, contact_user_id=owner))

    def sticker(self) -> list[Action]:
        return self.send(OtherMessage("sticker"))

    def of(self, kind: type, actions: list[Action] | None = None) -> list:
        return [a for a in (self.actions if actions is None else actions) if isinstance(a, kind)]

    def said(self) -> str:
        return "\n".join(a.text for a in self.of(SendMessage))

    def buttons(self) -> list[str]:
        """The callback options of the last keyboard sent."""
        sent = [a for a in self.of(SendMessage) if a.buttons]
        return [callback.unpack(b.data).option for row in sent[-1].buttons for b in row
                if b.data] if sent else []
