"""Settings from the environment (or a local `.env`, never committed), prefix LEADBOT_."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

import dialogs
from dialogs.format.problems import plain
from dialogs.rules.nurture import parse_quiet, zone_named

SHIPPED_FLOWS = Path(dialogs.__file__).parent / "flows"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRANSPORTS = ("aiogram", "ptb")  # the Telegram libraries leadbot runs on (bot/transport/)
# periods a setting may name: past them a date the bot computes no longer exists (a timedelta
# of inf or 1e300 hours raises, and the job using it failed every time, after a good start)
MAX_DAYS, MAX_HOURS = 36_500, 8_760


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADBOT_", env_file=".env", extra="ignore",
                                      use_attribute_docstrings=True)  # the docs' settings reference

    @field_validator("manager_ids", "handoff_also", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """`LEADBOT_MANAGER_IDS=1,2` as well as JSON `[1, 2]`."""
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("write it like 111,222 (or a JSON list)") from None
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sla_minutes", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """`LEADBOT_SLA_MINUTES=hot=5,warm=30` as well as JSON."""
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("write it like hot=5,warm=30,cold=120") from None
        if isinstance(value, str):
            parts = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(part) != 2 for part in parts):
                raise ValueError("write it like hot=5,warm=30,cold=120")
            value = {key.strip(): number.strip() for key, number in parts}
        return value

    @field_validator("sla_minutes")
    @classmethod
    def _temperatures(cls, value: dict[str, int]) -> dict[str, int]:
        for key, minutes in value.items():
            if key not in ("hot", "warm", "cold") or not 1 <= minutes <= MAX_DAYS * 1440:
                raise ValueError(f"{key}={minutes}: temperatures are hot, warm, cold; minutes "
                                 f"from 1 to {MAX_DAYS * 1440}")
        return value

    @field_validator("handoff_also")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in ("hot", "warm", "cold")]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: temperatures are hot, warm, cold")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value}: use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        """Checked here: the Bot API client puts the token into the URL, and a URL it cannot
        use came back in its error, token and all."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL (the default: "
                             "https://api.telegram.org)")
        return value.strip()

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str) -> str:
        if value.strip().lower() not in TRANSPORTS:
            raise ValueError(f"{value!r}: use one of {', '.join(TRANSPORTS)}")
        return value.strip().lower()

    bot_token: SecretStr | None = None
    """The bot's token from @BotFather; `leadbot run` needs it."""
    transport: str = "aiogram"  # the Telegram library: aiogram or ptb (python-telegram-bot)
    """The Telegram library: `aiogram` or `ptb` (python-telegram-bot), in any case (Running the
    bot, "Two transports")."""
    telegram_api_url: str = "https://api.telegram.org"
    """The Bot API server: a local `telegram-bot-api`, or the fake in tests."""
    database_url: str = "sqlite:///leadbot.db"
    """`sqlite:///path/file.db`, or `postgresql://user:password@host:5432/db`."""
    flows_dir: Path = SHIPPED_FLOWS
    """Where the flows (and their files) are; the default is the shipped `dialogs/flows`."""
    default_flow: str | None = None  # entered on a plain /start instead of the menu
    """The flow a plain `/start` enters; unset: a menu of the flows."""
    # `leadbot run --webhook`: the public https base URL; the secret Telegram must send
    telegram_webhook_url: str | None = None
    """`--webhook` only: the public https base URL; setWebhook gets `…/telegram/webhook` (was
    `LEADBOT_WEBHOOK_URL`: see Upgrading)."""
    telegram_webhook_secret: SecretStr | None = None  # default: derived from the token
    """The `X-Telegram-Bot-Api-Secret-Token` Telegram must send (`A-Z a-z 0-9 _ -`); unset:
    derived from the token (was `LEADBOT_WEBHOOK_SECRET`)."""
    host: str = "0.0.0.0"
    """Where the web server listens, in polling and webhook mode alike (`/healthz`, `/readyz`,
    `/metrics`, `/admin`; `/telegram/webhook` with `--webhook`)."""
    port: int = Field(8080, ge=0, le=65535)  # the web server, in both modes; 0: any free
    """The web server's port; a port that is taken stops the start with a clear line; `0`: any
    free port."""
    public_url: str | None = None  # https://bot.example.com: tracking links' full URLs
    """The web server's public address as visitors reach it, e.g. `https://bot.example.com`
    (behind nginx): the full URLs of tracking links (`leadbot links list`, `leadbot links
    qr`) are `…/go/NAME`; unset: the list shows the path and asks for it. Set, a
    broadcast's link buttons go through `…/b/…` and are counted (Broadcasts)."""
    links_file: Path | None = None  # tracking links: NAME -> flow, source, campaign
    """A YAML file of tracking links (`links: {NAME: {flow, source, campaign}}`), written to
    the database at start; a broken one, or an unknown flow, stops the start naming the field
    (see Tracking links in Funnel and sources)."""
    admin_token: SecretStr | None = None  # /metrics needs it; /admin takes it as an owner
    """The token `/metrics` requires (as `Authorization: Bearer ...`) and `/admin` accepts
    beside the people `leadbot admin add` made (its holder acts as an owner: scripts, the
    first sign-in); unset: `/metrics` is open, and `/admin` is there only once somebody was
    added. Make it long and random:
    `python -c "import secrets; print(secrets.token_urlsafe(32))"`."""
    log_level: str = "INFO"
    """`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`, in any case (no phone, email or name
    is logged at any level: see Personal data)."""
    # Personal data (README, "Personal data")
    company_name: str | None = None  # names the data controller in consent texts: {company}
    """The data controller named in consent texts (`{company}`) and by `/privacy`; unset: each
    flow's `operator.company`."""
    company_contact: str | None = None  # where to write about personal data: {company_contact}
    """Where prospects write about their data (`{company_contact}`): an email, a phone; unset:
    each flow's `operator.contact`."""
    privacy_url: str | None = None  # the full policy, for /privacy (default: the flow's)
    """The full policy `/privacy` links to; unset: the flow's consent `policy_url`."""
    retention_days: int = Field(365, ge=1, le=MAX_DAYS)  # untouched this long: anonymised
    """Conversations and leads untouched this long are anonymised (`{retention_days}` in
    texts); 1 to 36500."""
    pii_key: SecretStr | None = None  # Fernet key(s), newest first: encrypts name/phone/email
    """Fernet key(s), newest first, comma-separated: encrypts names, phones and emails at rest
    (`leadbot db new-key` makes one); unset: not encrypted."""
    # sent outbox rows and update ids older than this are deleted (README, "Disk")
    prune_after_days: int = Field(7, ge=1, le=MAX_DAYS)  # at least 1: Telegram redelivers
    """Sent (and failed, dropped) outbox rows and handled update ids older than this are
    deleted, hourly (1 to 36500; at least 1: Telegram redelivers for 24 h)."""
    # Hand-off to the sales managers (README, "Hand-off")
    managers_chat_id: int | None = None  # the managers' group: lead cards, claims
    """The managers' group (a negative id, like `-1001234567890`): lead cards and claims; add
    the bot to it. Unset: no hand-off but to the chats and managers routes name
    (`LEADBOT_ROUTING_FILE`)."""
    manager_ids: Annotated[list[int], NoDecode] = []  # when set, only these users may claim
    """`111,222`: only these Telegram users may claim; unset: anyone in the group (or escalation
    chat) may."""
    escalation_chat_id: int | None = None  # where a lead nobody claimed goes next
    """Where a lead nobody claimed in time goes next (a senior team, a head of sales)."""
    handoff_also: Annotated[list[str], NoDecode] = []  # temperatures always handed off: warm
    """Temperatures handed off whatever the flow decides: `warm` sends warm leads' cards too
    (never a prospect without consent to processing)."""
    sla_minutes: Annotated[dict[str, int], NoDecode] = {"hot": 5, "warm": 30, "cold": 120}
    """Minutes before an unclaimed lead is re-announced, per temperature
    (`hot=5,warm=30,cold=120`), and as long again before it is escalated."""
    managers_language: str = "ru"  # the language of cards and managers' buttons
    """The language of cards and managers' buttons: `ru`, `uk`, `en`."""
    routing_file: Path | None = None  # rules: which group or managers get which lead
    """A YAML file of routes: which group or managers get which lead (see Hand-off)."""
    working_hours: str | None = None  # "mon-fri 09:00-19:00"; unset: always open
    """`mon-fri 09:00-19:00`: outside them the prospect is told when to expect a call and the
    SLA clock starts at opening; unset: always open."""
    timezone: str = "UTC"  # of the working hours: "Europe/Moscow", "Europe/Kyiv"
    """The working hours' time zone, also the one of the dates of `leadbot report`, `leadbot
    export leads` and the dashboard: `Europe/Moscow`, `Europe/Kyiv`."""
    currency: str = "RUB"  # of spend and sales: an ISO 4217 code
    """The installation's one currency (ISO 4217: `RUB`, `UAH`, `EUR`, `USD`): of ad spend
    (`leadbot spend import`), of sales and of the money report; spend or a sale in another
    is refused with a line saying so."""
    # Leads into the sales team's CRM (README, "CRM"); each target is on when it is set
    webhook_url: str | None = None  # the signed CRM webhook (not Telegram's: see above)
    """The signed CRM webhook: every lead event is POSTed here (see CRM); needs
    `LEADBOT_WEBHOOK_SECRET`; unset: off."""
    webhook_secret: SecretStr | None = None  # its HMAC-SHA256 key: required with the URL
    """The HMAC-SHA256 key of `X-Leadbot-Signature`; a URL without it refuses to start (no
    unsigned deliveries)."""
    bitrix24_webhook_url: SecretStr | None = None  # an incoming webhook (its path is a key)
    """A Bitrix24 incoming webhook with the `crm` scope,
    `https://PORTAL.bitrix24.ru/rest/USER/KEY/` (its path is a key: keep it secret); unset:
    off."""
    amocrm_url: str | None = None  # https://SUBDOMAIN.amocrm.ru (or .kommo.com)
    """`https://SUBDOMAIN.amocrm.ru` (or `.kommo.com`); needs `LEADBOT_AMOCRM_TOKEN`; unset:
    off."""
    amocrm_token: SecretStr | None = None  # a long-lived token
    """A long-lived token of an amoCRM / Kommo private integration."""
    bitrix24_app_token: SecretStr | None = None  # of Bitrix24's outbound webhook
    """The application token of Bitrix24's outbound webhook (`auth[application_token]`,
    shown when the webhook is made): `POST /crm/bitrix24` takes only what carries it, then
    reads the lead or deal back through `LEADBOT_BITRIX24_WEBHOOK_URL` (required with it);
    unset: the route answers 404."""
    amocrm_hook_secret: SecretStr | None = None  # the secret part of amoCRM's webhook URL
    """A long random string (at least 24 characters) that makes amoCRM's webhook URL,
    `https://BOT/crm/amocrm/SECRET`: status changes are read back through
    `LEADBOT_AMOCRM_URL` / `_TOKEN` (required with it); a wrong secret, or unset: 404."""
    inbound_secret: SecretStr | None = None  # HMAC key of `POST /crm/events`
    """The HMAC-SHA256 key (at least 24 characters) of the signed inbound webhook
    `POST /crm/events` (statuses and sales from any other CRM); its own key, not
    `LEADBOT_WEBHOOK_SECRET`: whoever receives leads cannot thereby set their status;
    unset: the route answers 404."""
    crm_file: Path | None = None  # field mapping: answers -> CRM fields, pipeline / stage
    """A YAML file mapping answers to CRM fields and temperature / status to pipeline and stage
    (see CRM); a broken one stops the start, naming the field."""
    crm_alert_hours: float = Field(2.0, gt=0, le=8760)  # undelivered this long: managers told
    """A CRM that has not accepted a lead for this long is reported once to
    `LEADBOT_MANAGERS_CHAT_ID` (and still retried); at most 8760 (a year)."""
    # Conversions for the ad platforms (README, "Conversions back to the ad platforms")
    conversions_file: Path | None = None  # which moments are which goal on which platform
    """A YAML file naming, per ad platform (`metrica`, `meta`, `ga4`), its account and which
    leadbot moments (lead, mql, sql, hot, handoff, claimed, won, lost) count as which of its
    goals; unset: no conversions are sent. A broken one stops the start, naming the field."""
    metrica_token: SecretStr | None = None  # Yandex OAuth token (metrika:write)
    """The OAuth token Yandex Metrica's offline conversions are uploaded with (scope
    `metrika:write`); required when the conversions file names `metrica`."""
    meta_token: SecretStr | None = None  # Conversions API access token
    """The Conversions API access token of the Meta dataset (pixel) the conversions file
    names; required when it names `meta`."""
    ga4_api_secret: SecretStr | None = None  # Measurement Protocol API secret
    """The Measurement Protocol API secret of the GA4 data stream the conversions file names
    (Admin, Data streams, Measurement Protocol API secrets); required when it names `ga4`."""
    # Nurture: follow-up sequences and the abandoned-quiz reminder (README, "Nurture")
    quiet_hours: str = "21:00-09:00"  # nothing that can wait goes then; "off": no quiet hours
    """Nothing that can wait (follow-ups, the abandoned-quiz reminder) goes out then, in the
    prospect's time zone; a flow's `nurture.quiet_hours` overrides it; `off`: none (see
    Nurture)."""
    nurture_timezone: str | None = None  # the prospects' zone; unset: guessed from language
    """The prospects' time zone when a flow names none (`nurture.timezone`); unset: guessed from
    their language (ru: Europe/Moscow, uk: Europe/Kyiv, en: Europe/London; others UTC)."""
    nurture_weekly_cap: int = Field(3, ge=0)  # marketing follow-ups per prospect a week; 0: no cap
    """At most this many marketing follow-ups per prospect in any 7 days; more wait until there
    is room; `0`: no cap."""
    # due longer ago (downtime): dropped; 0: never. Finite and at most a year: inf passed,
    # and the follow-ups job then failed every 5 s (timedelta(hours=inf)), nothing went out
    nurture_stale_hours: float = Field(12, ge=0, le=MAX_HOURS, allow_inf_nan=False)
    """A follow-up due longer ago than this (the bot was down) is dropped with a
    `follow_up_dropped` event instead of arriving in a stale burst; its sequence goes on; `0`:
    never dropped; at most 8760 (a year)."""
    # Broadcasts (docs/broadcasts.md): the bulk lane's share of Telegram's 30 messages a second
    broadcast_rate: float = Field(20.0, gt=0, le=30, allow_inf_nan=False)
    """Messages per second a broadcast may send, of the bot's 30 (shared by every process);
    replies, taps, cards and follow-ups always go first, from the rest and a reserve of the
    burst; more than 0, at most 30."""

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet(value)  # ValueError says how to write it
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value.strip()):
            raise ValueError(f"{value!r} is not a web address like https://bot.example.com")
        return value.strip().rstrip("/") if value else None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        """Three capital letters, as ISO 4217 writes them (not `rub`, not `₽`)."""
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("write the currency's ISO 4217 code in capitals: RUB, UAH, EUR, "
                             "USD")
        return value

    @field_validator("nurture_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value and zone_named(value) is None:
            raise ValueError(f"unknown time zone {value!r} (like Europe/Moscow)")
        return value or None


class SettingError(ValueError):
    """A setting that is well formed but cannot be used: `LEADBOT_NAME: why`."""


def flows_folder(settings: Settings) -> Path:
    """LEADBOT_FLOWS_DIR, which must be a folder (else every flow in it looked "broken")."""
    if not settings.flows_dir.is_dir():
        raise SettingError(f"LEADBOT_FLOWS_DIR: there is no folder {settings.flows_dir}")
    return settings.flows_dir


# pydantic's words for a value of the wrong type, in the operator's (the value is a number or
# a word of theirs, never a secret: secrets are plain strings, refused by no type)
WORDS = {
    "int_parsing": "{input!r} is not a whole number",
    "float_parsing": "{input!r} is not a number",
    "bool_parsing": "{input!r} is not true or false",
    "finite_number": "{input!r} is not a finite number",
    "greater_than_equal": "must be at least {ge:g}, not {input}",
    "greater_than": "must be more than {gt:g}, not {input}",
    "less_than_equal": "must be at most {le:g}, not {input}",
    "less_than": "must be less than {lt:g}, not {input}",
}


def bad_settings(error: ValidationError) -> list[str]:
    """Each bad setting as `LEADBOT_NAME: what is wrong`, in words of our own or the
    validator's, without the framework's prefix ("Value error, ...")."""
    lines = []
    for item in error.errors():
        name = "LEADBOT_" + str(item["loc"][0]).upper() if item["loc"] else "settings"
        words = WORDS.get(item["type"])
        try:
            message = words.format(input=item.get("input"), **item.get("ctx", {})) if words \
                else plain(item)
        except (KeyError, IndexError, ValueError):
            message = plain(item)
        lines.append(f"{name}: {message}")
    return list(dict.fromkeys(lines))
