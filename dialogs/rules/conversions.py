"""Conversions for the ad platforms (LEADBOT_CONVERSIONS_FILE): which leadbot moments count
as which goal on which platform, and which moments a leadbot event is. Pure: text in, a
model out; an event's data in, its moments out.

    metrica:                       # Yandex Metrica: offline conversions (Yandex Direct)
      counter: 12345678            # the counter's id
      goals: {hot: leadbot_hot, won: leadbot_sale}   # moment -> the goal's identifier
    meta:                          # Meta Conversions API (Facebook / Instagram ads)
      pixel: "1234567890"          # the dataset (pixel) id
      contacts: true               # hashed email / phone too (the consent text names Meta)
      test_event_code: TEST12345   # optional: `leadbot conversions test` uses it
      goals: {lead: Lead, hot: QualifiedLead, won: Purchase}
    ga4:                           # Google Analytics 4 Measurement Protocol (Google Ads)
      measurement_id: G-XXXXXXXXXX
      goals: {lead: generate_lead, hot: qualify_lead, won: close_convert_lead,
              lost: close_unconvert_lead}

Each platform may also name `api_url` (its API's base; a test's fake server). The secrets
are settings, never in the file: LEADBOT_METRICA_TOKEN, LEADBOT_META_TOKEN,
LEADBOT_GA4_API_SECRET. A broken file stops the start, naming the field
(`ConversionsError`).

The moments (MOMENTS): `lead` (contact given), `mql`, `sql`, `hot` (qualified so),
`handoff`, `claimed`, `won` (with the sale's amount and currency, read when sent), `lost`.
A `won` waits HOLD seconds before it goes: the manager's amount usually follows the tap on
"Won", and the conversion carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from dialogs.format.problems import plain
from dialogs.format.yamlsource import parse_yaml

MOMENTS = ("lead", "mql", "sql", "hot", "handoff", "claimed", "won", "lost")
PLATFORMS = ("metrica", "meta", "ga4")
NAMES = {"metrica": "Yandex Metrica", "meta": "Meta", "ga4": "Google Analytics"}
HOLD = {"won": 600.0}  # seconds a moment's rows wait (the sale's amount follows "Won")

MetricaGoal = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
MetaEvent = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,49}$")]
Ga4Event = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]


class ConversionsError(ValueError):
    """A conversions file that cannot be used: one message naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metrica(_Strict):
    counter: Annotated[int, Field(gt=0, lt=10**12)]
    goals: dict[str, MetricaGoal]
    api_url: Url = "https://api-metrika.yandex.net"

    @field_validator("counter", mode="before")
    @classmethod
    def _not_a_yes(cls, value: Any) -> Any:
        """`counter: true` is not counter 1 (a number, quoted or not, is welcome)."""
        if isinstance(value, bool):
            raise ValueError("the counter's number, not yes or no")
        return value


class Meta(_Strict):
    pixel: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
    goals: dict[str, MetaEvent]
    contacts: bool = False  # hashed email / phone: only where the consent covers it
    test_event_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,32}$")] | None \
        = None
    api_url: Url = "https://graph.facebook.com/v21.0"


class Ga4(_Strict):
    measurement_id: Annotated[str, StringConstraints(pattern=r"^G-[A-Z0-9]{4,20}$")]
    goals: dict[str, Ga4Event]
    api_url: Url = "https://www.google-analytics.com"


class Conversions(_Strict):
    metrica: Metrica | None = None
    meta: Meta | None = None
    ga4: Ga4 | None = None

    def platforms(self) -> dict[str, Metrica | Meta | Ga4]:
        """The configured platforms by name, in PLATFORMS' order."""
        found = {name: getattr(self, name) for name in PLATFORMS}
        return {name: config for name, config in found.items() if config is not None}

    def with_contacts(self) -> tuple[str, ...]:
        """The platforms given hashed contacts (the consent text must name them)."""
        return ("meta",) if self.meta is not None and self.meta.contacts else ()

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Conversions:
        try:
            parsed = parse_yaml(text)
        except yaml.YAMLError as error:
            raise ConversionsError(f"{source}: not YAML: {error}") from None
        if parsed.duplicates:
            where, line = parsed.duplicates[0]
            raise ConversionsError(f"{source}: line {line}: '{where[-1]}' is written twice")
        try:
            found = cls.model_validate(parsed.data or {})
        except ValidationError as error:
            item = error.errors()[0]
            where = ".".join(str(part) for part in item["loc"]) or "top level"
            raise ConversionsError(f"{source}: {where}: {plain(item)}") from None
        if not found.platforms():
            raise ConversionsError(f"{source}: no platform (metrica, meta, ga4) is set")
        for name, config in found.platforms().items():
            if not config.goals:
                raise ConversionsError(f"{source}: {name}.goals: no goal is set")
            for moment in config.goals:
                if moment not in MOMENTS:
                    raise ConversionsError(f"{source}: {name}.goals.{moment}: moments are "
                                           f"{', '.join(MOMENTS)}")
        return found


def moments(event: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The conversion moments a leadbot event is (storage/deliveries/rows.py `note`):
    `contact` a lead; `qualified` MQL, SQL and hot as the qualification says; `status` a
    sale or a loss; `sale` (an amount recorded) a sale."""
    if event == "contact":
        return ("lead",)
    if event == "qualified":
        found = []
        if data.get("mql"):
            found.append("mql")
        if data.get("sql"):
            found.append("sql")
        if data.get("temperature") == "hot":
            found.append("hot")
        return tuple(found)
    if event in ("handoff", "claimed"):
        return (event,)
    if event == "sale":
        return ("won",)
    if event == "status" and data.get("status") in ("won", "lost"):
        return (str(data["status"]),)
    return ()
