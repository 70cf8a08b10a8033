"""The tables of "which ad pays": tracking links and their clicks, ad spend, and the sales
the CRMs report back. Nothing personal: a click keeps the ad platforms' click ids and the
UTM parameters (cut to length), never an IP address or a user agent.

Money is an integer of hundredths of the installation's one currency (LEADBOT_CURRENCY):
the same on SQLite and PostgreSQL, no floats.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.schema.columns import UTCDateTime
from storage.schema.tables import utcnow


class TrackingLink(SQLModel, table=True):
    """A link made with `leadbot links add` (links declared in LEADBOT_LINKS_FILE are
    written here at start, `declared` true): `GET /go/<name>` records a click and sends
    the visitor to the bot with the flow and the click's token."""

    __tablename__ = "tracking_links"

    name: str = Field(primary_key=True, max_length=32)
    flow_id: str = Field(max_length=32)
    source: str = Field(max_length=64)
    campaign: str | None = Field(default=None, max_length=64)
    declared: bool = False  # from the links file (the file wins over the CLI's)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Click(SQLModel, table=True):
    """One visit of `/go/<link>` by a person (crawlers and link previews are not counted).
    `token` goes into the bot's deep link; the conversation it starts keeps `click_id`."""

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_source_created", "source", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=16, unique=True)
    link: str = Field(max_length=32)
    flow_id: str = Field(max_length=32)
    source: str = Field(max_length=64)
    campaign: str | None = Field(default=None, max_length=64)
    # utm_source, utm_medium, utm_campaign, utm_content, utm_term: as given, cut to length
    utm: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # the ad platforms' click ids: Yandex Direct, Google Ads, Meta, Yandex Metrica's client
    yclid: str | None = Field(default=None, max_length=200)
    gclid: str | None = Field(default=None, max_length=200)
    fbclid: str | None = Field(default=None, max_length=200)
    ym_uid: str | None = Field(default=None, max_length=64)
    ga_client_id: str | None = Field(default=None, max_length=64)  # GA4's, from `_ga`
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class Spend(SQLModel, table=True):
    """What a source (and campaign) cost over a span of days (a day from a CSV row, a month
    typed on the dashboard); the report spreads it evenly over the span's days."""

    __tablename__ = "spend"
    __table_args__ = (Index("ix_spend_source_days", "source", "first_day"),)

    id: int | None = Field(default=None, primary_key=True)
    first_day: date = Field(sa_column=Column(Date, nullable=False))
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    source: str = Field(max_length=64)
    campaign: str | None = Field(default=None, max_length=64)
    amount: int = Field(sa_type=BigInteger)  # hundredths of `currency`
    currency: str = Field(max_length=3)
    origin: str = Field(max_length=64)  # "csv FILE", "dashboard"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CrmInbound(SQLModel, table=True):
    """A status or sale a CRM sent back (bot/deliveries/ inbound webhooks), kept by its delivery
    key so a repeat is applied once. No personal data."""

    __tablename__ = "crm_inbound"
    __table_args__ = (UniqueConstraint("target", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=16)  # bitrix24, amocrm, events
    key: str = Field(max_length=64)
    lead_id: int | None = Field(default=None, index=True)
    status: str | None = Field(default=None, max_length=16)  # leadbot's status it means
    amount: int | None = Field(default=None, sa_type=BigInteger)
    result: str = Field(max_length=16)  # applied, same, kept, unknown_lead; pending, failed
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # a notification waiting to be read back from its CRM (result "pending"): tries made
    # and when the next is due (capped back-off; also the lease of the process trying)
    attempts: int = 0
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
