"""The flow format: what a marketer writes in dialogs/flows/*.yaml, as pydantic models.

Shape checks here (types, fields, ids); whole-flow checks in dialogs/lint/ (linter.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

# Lowercase words joined by single '-' or '_': safe in callback data (':' separates parts)
# and in deep links, where '__' separates the flow id from the source.
ID_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=32)]
Text = dict[str, str]
Phrasings = dict[str, tuple[str, ...]]  # per language: {ru: ["двушка"], en: ["two-room"]}
Outcome = Literal["handoff", "nurture", "close"]
FieldMode = Literal["required", "optional", "no"]

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _else_to_when(data: Any, target: str) -> Any:
    """`{else: x}` is the last rule of a list: the same as `{when: null, <target>: x}`."""
    if isinstance(data, dict) and "else" in data:
        data = dict(data)
        data[target] = data.pop("else")
        data.setdefault("when", None)
    return data


class Branch(Model):
    when: str | None = None
    next: Id

    @model_validator(mode="before")
    @classmethod
    def _else(cls, data: Any) -> Any:
        return _else_to_when(data, "next")


class Option(Model):
    id: Id
    text: Text
    score: int = 0
    tags: tuple[Id, ...] = ()
    value: float | None = None
    next: Id | None = None
    synonyms: Phrasings = {}  # typed answers that mean this option (dialogs/typed/)


class ScoreRule(Model):
    when: str
    points: int = 0
    tags: tuple[Id, ...] = ()


class Link(Model):
    text: Text
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class StepBase(Model):
    text: Text | None = None
    next: Id | None = None
    branches: tuple[Branch, ...] = ()


class MessageStep(StepBase):
    kind: Literal["message"]
    text: Text
    file: Text | None = None
    links: tuple[Link, ...] = ()
    button: Text | None = None  # when set, the prospect taps it to go on; else the flow goes on


class ChoiceStep(StepBase):
    text: Text
    options: tuple[Option, ...] = Field(min_length=1)
    columns: int = Field(1, ge=1)
    discount: float | None = None


class SingleChoiceStep(ChoiceStep):
    kind: Literal["single_choice"]


class MultipleChoiceStep(ChoiceStep):
    kind: Literal["multiple_choice"]
    min: int = Field(1, ge=0)
    max: int | None = Field(None, ge=1)
    done: Text | None = None


class FreeTextStep(StepBase):
    kind: Literal["free_text"]
    text: Text
    min_length: int = Field(1, ge=1)
    max_length: int = Field(1000, ge=1, le=4000)
    optional: bool = False
    discount: float | None = None


class NumberStep(StepBase):
    kind: Literal["number"]
    text: Text
    min: float | None = None
    max: float | None = None
    integer: bool = False
    unit: Text | None = None
    scoring: tuple[ScoreRule, ...] = ()
    discount: float | None = None
    range: bool = False  # "от 50 до 70" is accepted (dialogs/typed/): its middle is recorded

    @model_validator(mode="after")
    def _bounds(self) -> NumberStep:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class ContactStep(StepBase):
    kind: Literal["contact"]
    name: FieldMode = "required"
    phone: FieldMode = "required"
    email: FieldMode = "no"
    order: tuple[Literal["name", "phone", "email"], ...] = ("name", "phone", "email")

    @model_validator(mode="after")
    def _asks_something(self) -> ContactStep:
        if (self.name, self.phone, self.email) == ("no", "no", "no"):
            raise ValueError("a contact step must ask for at least one of name, phone, email")
        if sorted(self.order) != ["email", "name", "phone"]:
            raise ValueError("order must name each of name, phone and email once")
        return self


class MarketingOptIn(Model):
    text: Text
    accept: Text
    decline: Text


class ConsentStep(StepBase):
    kind: Literal["consent"]
    text: Text
    policy_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    policy_version: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    accept: Text
    decline: Text
    declined: Id  # where a prospect who declines goes: stores nothing personal
    marketing: MarketingOptIn | None = None


class PriceRange(Model):
    low: float = Field(1.0, gt=0)
    high: float = Field(1.0, gt=0)


class CalculatorStep(StepBase):
    kind: Literal["calculator"]
    text: Text
    formula: str
    range: PriceRange = PriceRange()
    round_to: float = Field(1, gt=0)
    save_as: Id = "price"


class DiscountCode(Model):
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,12}$")]


class RewardStep(StepBase):
    kind: Literal["reward"]
    text: Text
    code: DiscountCode | None = None
    file: Text | None = None
    link: Link | None = None


class EndStep(StepBase):
    kind: Literal["end"]
    text: Text
    by_outcome: dict[Outcome, Text] = {}
    outcome: Outcome | None = None  # forces the outcome, whatever the rules say


Step = Annotated[
    MessageStep | SingleChoiceStep | MultipleChoiceStep | FreeTextStep | NumberStep
    | ContactStep | ConsentStep | CalculatorStep | RewardStep | EndStep,
    Field(discriminator="kind"),
]
STEP_KINDS = ("message", "single_choice", "multiple_choice", "free_text", "number", "contact",
              "consent", "calculator", "reward", "end")
QUESTION_KINDS = ("single_choice", "multiple_choice", "free_text", "number")


class Discount(Model):
    start: float = Field(0, ge=0)
    per_answer: float = Field(0, ge=0)
    max: float = Field(100, ge=0, le=100)


class Temperature(Model):
    hot: str | None = None
    warm: str | None = None


class OutcomeRule(Model):
    when: str | None = None
    do: Outcome

    @model_validator(mode="before")
    @classmethod
    def _else(cls, data: Any) -> Any:
        return _else_to_when(data, "do")


DEFAULT_OUTCOMES = (
    OutcomeRule(when="not target", do="close"),
    OutcomeRule(when="temperature == 'hot'", do="handoff"),
    OutcomeRule(when=None, do="nurture"),
)


class Qualification(Model):
    target: str = "True"
    temperature: Temperature = Temperature()
    mql: str = "target and consent"
    sql: str = "False"
    outcome: tuple[OutcomeRule, ...] = DEFAULT_OUTCOMES


def duration_seconds(value: str) -> int:
    """`30m`, `2h`, `3d`, `1w` -> seconds; ValueError for anything else."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError("write a duration like 30m, 2h, 3d or 1w")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def _a_duration(value: str) -> str:
    duration_seconds(value)
    return value.strip()


class FollowUp(Model):
    """One message after the end (the original format): a sequence of one, `after` counted
    from the end of the quiz."""

    id: Id
    after: str
    text: Text
    when: str | None = None
    outcomes: tuple[Outcome, ...] = ("nurture",)
    marketing: bool = True  # needs the separate marketing opt-in (38-FZ Art. 18, ePrivacy)

    _duration = field_validator("after")(_a_duration)

    @property
    def delay_seconds(self) -> int:
        return duration_seconds(self.after)


class NurtureOption(Model):
    """An answer to a follow-up's question: it adds to the lead's score and tags, and the
    flow's qualification runs again."""

    id: Id
    text: Text
    score: int = 0
    tags: tuple[Id, ...] = ()


class NurtureLink(Model):
    text: Text
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class NurtureFile(Model):
    text: Text  # the button's label; a tap sends the file
    file: dict[str, str] | str  # one file, or one per language, next to the flow


class NurtureMessage(Model):
    id: Id
    after: str  # from the previous message of the sequence (the first: from the end)
    text: Text
    link: NurtureLink | None = None
    file: NurtureFile | None = None
    question: tuple[NurtureOption, ...] = ()

    _duration = field_validator("after")(_a_duration)

    @property
    def delay_seconds(self) -> int:
        return duration_seconds(self.after)


class Sequence(Model):
    """Messages one after another for the leads an outcome (and `when`) picks."""

    id: Id
    outcomes: tuple[Outcome, ...] = ("nurture",)
    when: str | None = None
    marketing: bool = True
    messages: tuple[NurtureMessage, ...] = Field(min_length=1)


class Reminder(Model):
    """The abandoned-quiz reminder: once per conversation, with a Continue button."""

    after: str = "3h"
    text: Text | None = None  # default: the engine's own words

    _duration = field_validator("after")(_a_duration)

    @property
    def delay_seconds(self) -> int:
        return duration_seconds(self.after)


class Nurture(Model):
    sequences: tuple[Sequence, ...] = ()
    reminder: Reminder | None = Reminder()  # null: no reminder
    quiet_hours: Annotated[str, StringConstraints(
        pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")] | None = None  # default: LEADBOT_QUIET_HOURS
    timezone: str | None = None  # the prospects' usual zone; unknown: guessed from language
    stop_on_message: bool = False  # anything the prospect writes ends their sequences


ADVERTISING = "advertising"  # the category of an ad platform sent conversions


class Recipient(Model):
    """Someone else the data goes to (GDPR Art. 13(1)(e)): its category ("CRM",
    "advertising") and name. `contacts`: it gets the phone and email (hashed), so every
    consent text must name it by name, not only by category (the linter says so)."""

    category: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    contacts: bool = False

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:  # a CRM's flow snapshot keeps its digest
        data = handler(self)
        return {k: v for k, v in data.items() if k != "contacts" or v}


class Operator(Model):
    """Who processes the data (the consent text names them). `leadbot run` fills these from
    LEADBOT_COMPANY_NAME, LEADBOT_COMPANY_CONTACT and LEADBOT_RETENTION_DAYS when set, and
    adds the configured CRMs and ad platforms to `recipients` (the consent text's
    `{recipients}`)."""

    company: str | Text | None = None  # one name, or one per language
    contact: str | None = None  # where to write about personal data: an email, a phone
    retention_days: int = Field(365, ge=1, le=36_500)  # a century: any date past it is none
    recipients: tuple[Recipient, ...] = ()

    @property
    def key(self) -> str:
        """The controller a consent is given to, as one string: consents are per company
        (a "yes" to one company is not a "yes" to another). A name per language: its
        English one, else the first language's."""
        company = self.company
        if isinstance(company, dict):
            company = company.get("en") or (company[min(company)] if company else None)
        return (company or "")[:OPERATOR_KEY_LENGTH]


OPERATOR_KEY_LENGTH = 200  # the ledger's `operator` column


VariantName = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=16)]


class Experiment(Model):
    """This flow is one variant of an A/B experiment. Its variants are separate flow files
    sharing `name`, which is the experiment's entry: its deep link (`?start=NAME`) and its
    one place in the menu. New prospects are split between the variants by `weight`
    (relative: 50 and 50, or 1 and 1, split in half); the same person always gets the same
    variant (dialogs/rules/experiments.py). The linter checks the variants together."""

    name: Id
    variant: VariantName
    weight: int = 1  # positive; the linter says so in plain words


class FaqEntry(Model):
    """A question asked mid-quiz, answered, then the step asked again (docs/typed.md)."""
    id: Id
    ask: Phrasings = Field(min_length=1)
    answer: Text
    link: Link | None = None
    file: Text | None = None  # one file per language, next to the flow


class Flow(Model):
    id: Id
    version: int = Field(ge=1)
    title: Text
    languages: tuple[str, ...] = Field(min_length=1)
    default_language: str | None = None
    phone_region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    start: Id
    allow_back: bool = True
    discount: Discount | None = None
    steps: dict[Id, Step] = Field(min_length=1)
    qualification: Qualification = Qualification()
    follow_ups: tuple[FollowUp, ...] = ()
    nurture: Nurture = Nurture()
    operator: Operator = Operator()
    experiment: Experiment | None = None
    faq: tuple[FaqEntry, ...] = ()

    @property
    def sequences(self) -> tuple[Sequence, ...]:
        """Every sequence: `nurture.sequences`, and each of `follow_ups` as one of its own."""
        single = tuple(Sequence(id=f.id, outcomes=f.outcomes, when=f.when, marketing=f.marketing,
                                messages=(NurtureMessage(id=f.id, after=f.after, text=f.text),))
                       for f in self.follow_ups)
        return single + self.nurture.sequences

    def nurture_message(self, message_id: str) -> NurtureMessage | None:
        for sequence in self.nurture.sequences:
            for message in sequence.messages:
                if message.id == message_id:
                    return message
        return None

    @property
    def language(self) -> str:
        """The language used when the prospect's is not one the flow speaks."""
        return self.default_language or self.languages[0]
