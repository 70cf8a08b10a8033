"""The tables of broadcasts (`leadbot broadcast create FILE.yaml`): one row per broadcast
(its parsed file, nothing personal) and one per person it is for.

What happened to a queued recipient is its outbox row's status (sent, failed, dropped,
"sending" never confirmed): the results join the outbox, they never copy it. A recipient
keeps the person's Telegram ids (user and chat) like follow-ups and events do, so erasure
and /mydata find them; nothing else of the person is here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.schema.columns import UTCDateTime
from storage.schema.tables import utcnow

STATUSES = ("draft", "scheduled", "sending", "paused", "cancelled", "done")
RECIPIENT_STATUSES = ("pending", "queued", "skipped")
REASONS = ("no_consent", "stopped", "blocked", "erased")  # left out at segment / queue time
SKIP_REASONS = (*REASONS, "cancelled")


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=32, unique=True)  # the source is "broadcast:<name>"
    # the parsed file as a plain dict (nothing personal) and the SHA-256 of its text
    definition: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64)
    status: str = Field(default="draft", max_length=12)  # one of STATUSES
    send_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)  # "cli" or the dashboard viewer's name
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    total: int = 0  # recipients written
    # who the segment left out, per reason: {"no_consent": n, "stopped": n, ...}
    left_out: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BroadcastRecipient(SQLModel, table=True):
    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id"),
                      Index("ix_broadcast_recipients_due", "broadcast_id", "status",
                            "due_at"),
                      # the writer counts its rows still in the outbox from the outbox's
                      # side (a few pending rows), not from every recipient queued so far
                      Index("ix_broadcast_recipients_outbox", "outbox_id"))

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcasts.id")
    user_id: int = Field(sa_type=BigInteger, index=True)  # erasure and /mydata find them
    chat_id: int = Field(sa_type=BigInteger)
    language: str = Field(max_length=8)
    status: str = Field(default="pending", max_length=8)  # one of RECIPIENT_STATUSES
    reason: str | None = Field(default=None, max_length=12)  # skipped: one of SKIP_REASONS
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)  # quiet hours, cap
    outbox_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("outbox.id"), nullable=True))
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the indexes of the buttons tapped, in order (a flow or answer button: bc:<id>:<index>)
    tapped: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    unsubscribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
