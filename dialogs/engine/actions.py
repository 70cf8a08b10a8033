"""What the engine asks the outside world to do. bot/ carries them out; the engine never does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None  # callback data (see callback.pack)
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class ReplyKeyboard:
    """A reply keyboard under the input field: a share-contact button, maybe a skip button."""

    request_contact: str
    skip: str | None = None


@dataclass(frozen=True, slots=True)
class SendMessage:
    text: str
    buttons: Keyboard = ()
    reply_keyboard: ReplyKeyboard | None = None
    remove_keyboard: bool = False
    file: str | None = None
    step: str | None = None  # the step this message asks; later edits refer to it


@dataclass(frozen=True, slots=True)
class EditMessage:
    """Edit the latest message sent for `step` (toggles shown in place, the chosen answer)."""

    step: str
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True, slots=True)
class AnswerTap:
    """Answer the button tap (Telegram shows a spinner until it is answered)."""

    text: str | None = None
    alert: bool = False


@dataclass(frozen=True, slots=True)
class EnterStep:
    """For the funnel: the prospect reached this step."""

    step: str
    kind: str


@dataclass(frozen=True, slots=True)
class RecordAnswer:
    step: str
    value: str | float | tuple[str, ...] | None
    label: str  # human-readable, in the flow's default language (the managers' language)
    points: int = 0
    tags: tuple[str, ...] = ()
    typed: str | None = None  # typed, not tapped: '"двушка" -> two_rooms (synonym)'


@dataclass(frozen=True, slots=True)
class RecordConsent:
    purpose: str  # "processing" or "marketing"
    granted: bool
    policy_version: str
    text_sha256: str
    language: str
    step: str
    operator: str = ""  # the company it is given to (Operator.key): consents are per company


@dataclass(frozen=True, slots=True)
class SetContact:
    """Contact details the prospect gave (only ever after consent)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreItem:
    step: str
    answer: str
    points: int


@dataclass(frozen=True, slots=True)
class RecordQualification:
    score: int
    breakdown: tuple[ScoreItem, ...]
    temperature: str  # cold, warm, hot
    mql: bool
    sql: bool
    target: bool
    outcome: str  # handoff, nurture, close
    discount: float
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HandOff:
    """Give the lead to the sales managers now."""

    temperature: str
    score: int


@dataclass(frozen=True, slots=True)
class ScheduleFollowUp:
    """A message for later: one of a nurture sequence (`position` 0 is due `delay_seconds`
    after now; each later one that long after the one before it went out), or the
    abandoned-quiz reminder (kind "reminder", scheduled again on every turn, sent once)."""

    key: str
    delay_seconds: int
    text: str
    marketing: bool
    kind: str = "sequence"  # sequence, reminder
    sequence: str | None = None
    position: int = 0
    buttons: Keyboard = ()
    zone: str | None = None  # the flow's time zone for its prospects, if it names one
    quiet: str | None = None  # the flow's quiet hours ("21:00-09:00"), if it sets them
    stop_on_message: bool = False


@dataclass(frozen=True, slots=True)
class GiveReward:
    step: str
    code: str | None = None
    file: str | None = None
    url: str | None = None
    discount: float = 0


@dataclass(frozen=True, slots=True)
class Close:
    """The conversation is over without a hand-off or follow-ups (e.g. not a target)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FaqHit:
    """Typed text answered from the flow's FAQ (`entry` is its id) at `step`."""

    step: str
    entry: str


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Typed text at `step` that matched nothing: kept for the marketer, already masked
    (dialogs.typed.mask: emails, phone numbers, a name introduced)."""

    step: str
    text: str
    language: str


Action = (SendMessage | EditMessage | AnswerTap | EnterStep | RecordAnswer | RecordConsent
          | SetContact | RecordQualification | HandOff | ScheduleFollowUp | GiveReward | Close
          | FaqHit | Unmatched)
