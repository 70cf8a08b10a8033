"""The tables. Everything important lives here, so a restart resumes every conversation.

Telegram ids are 64-bit (BigInteger). Times are UTC. JSON columns hold engine state and
Bot API payloads; portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.schema.columns import Sealed, SealedJSON, StateJSON, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _time(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class Prospect(SQLModel, table=True):
    __tablename__ = "prospects"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_type=BigInteger)
    language: str | None = Field(default=None, max_length=8)
    blocked: bool = False
    created_at: datetime = _time()
    updated_at: datetime = _time()
    relay_handoff_id: int | None = None  # talking to a manager through the bot: whose lead


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_started", "user_id", "id"),
                      Index("ix_conversations_updated_erased", "erased_at", "updated_at"),
                      Index("ix_conversations_flow_started", "flow_id", "started_at"),
                      Index("ix_conversations_experiment_started", "experiment", "started_at"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("prospects.user_id"),
                                          nullable=False))
    chat_id: int = Field(sa_type=BigInteger)
    flow_id: str = Field(max_length=32)
    flow_version: int
    step: str = Field(max_length=32)
    finished: bool = False
    source: str | None = Field(default=None, max_length=64)
    # a tracking link's campaign, and the click (storage/schema/money.py) that started it
    campaign: str | None = Field(default=None, max_length=64)
    click_id: int | None = Field(default=None, index=True)
    # the A/B experiment the flow is a variant of, and which variant (None: not in one)
    experiment: str | None = Field(default=None, max_length=32)
    variant: str | None = Field(default=None, max_length=16)
    # engine state; its contact details are sealed (encrypted) when LEADBOT_PII_KEY is set
    state: dict = Field(default_factory=dict, sa_column=Column(StateJSON, nullable=False))
    # what the funnel counts of it, kept as it goes (dialogs/rules/funnel.py: steps reached
    # and answered, consent, contact); nothing personal
    progress: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False,
                                                                  server_default="{}"))
    started_at: datetime = _time()
    updated_at: datetime = _time()
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # /forget, retention


class Answer(SQLModel, table=True):
    """Every answer given, in order; going back and answering again adds a row."""

    __tablename__ = "answers"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    step: str = Field(max_length=32)
    value: Any = Field(default=None, sa_column=Column(JSON))
    label: str
    points: int = 0
    # typed, not tapped: what was typed (masked) and how it was read, for the marketer
    typed: str | None = None
    created_at: datetime = _time()


class UnmatchedText(SQLModel, table=True):
    """Typed text the bot did not understand at a step (masked: dialogs.typed.mask), kept
    for `leadbot report --unmatched`; erased with the person, pruned with the conversation."""

    __tablename__ = "unmatched_texts"
    __table_args__ = (Index("ix_unmatched_texts_flow", "flow_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    flow_id: str = Field(max_length=32)
    flow_version: int
    step: str = Field(max_length=32)
    language: str = Field(max_length=8)
    text: str
    created_at: datetime = _time()


class Lead(SQLModel, table=True):
    """One per conversation that gave contact details or was qualified."""

    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    flow_id: str = Field(max_length=32)
    flow_version: int
    source: str | None = Field(default=None, max_length=64)
    campaign: str | None = Field(default=None, max_length=64)
    # personal data: only after consent; sealed (encrypted) when LEADBOT_PII_KEY is set
    name: str | None = Field(default=None, sa_type=Sealed)
    phone: str | None = Field(default=None, sa_type=Sealed)
    email: str | None = Field(default=None, sa_type=Sealed)
    phone_hash: str | None = Field(default=None, max_length=64, index=True)  # keyed, lookups
    score: int | None = None
    temperature: str | None = Field(default=None, max_length=8)
    mql: bool | None = None
    sql: bool | None = None
    target: bool | None = None
    outcome: str | None = Field(default=None, max_length=16)
    status: str = Field(default="open", max_length=16)
    discount: float | None = None
    reward_code: str | None = Field(default=None, max_length=32)
    breakdown: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _time()
    updated_at: datetime = _time()
    qualified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # anonymised
    # the sale: when it was won, for how much (hundredths of `currency`, LEADBOT_CURRENCY),
    # and a CRM's own word for a status leadbot's could not follow (kept, with an alert)
    won_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    amount: int | None = Field(default=None, sa_type=BigInteger)
    currency: str | None = Field(default=None, max_length=3)
    crm_status: str | None = Field(default=None, max_length=64)


class Consent(SQLModel, table=True):
    """The consent ledger: append-only rows (GDPR Art. 7(1): consent must be demonstrable)."""

    __tablename__ = "consents"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id")
    purpose: str = Field(max_length=16)
    granted: bool
    policy_version: str = Field(max_length=32)
    text_sha256: str = Field(max_length=64)
    language: str = Field(max_length=8)
    update_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = _time()
    # the company the consent is given to or withdrawn from (the flow's operator.company:
    # consents are per company); None: a row from before this was recorded
    operator: str | None = Field(default=None, max_length=200)
    # where the person answered: the channel ("telegram") and the id of the message whose
    # button they tapped (the consent message, the /stop or /forget confirmation, the
    # marketing message's Unsubscribe)
    channel: str | None = Field(default=None, max_length=16)
    message_id: int | None = Field(default=None, sa_type=BigInteger)


class Event(SQLModel, table=True):
    """Every touch, in order: the history of what happened (the funnel counts each
    conversation's `progress`, kept from the same actions)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_flow_kind", "flow_id", "flow_version", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id")
    kind: str = Field(max_length=24)
    flow_id: str | None = Field(default=None, max_length=32)
    flow_version: int | None = None
    step: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=64)
    campaign: str | None = Field(default=None, max_length=64)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _time(index=True)


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled: a redelivered update is dropped."""

    __tablename__ = "processed_updates"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = _time(index=True)


class OutboxMessage(SQLModel, table=True):
    """A Bot API call to make, written in the same transaction as the state that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "chat_id", "id"),
                      Index("ix_outbox_step", "conversation_id", "step", "id"),
                      Index("ix_outbox_reply", "chat_id", "telegram_message_id"),
                      Index("ix_outbox_owner", "owner", "status"))

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger)
    lane: str = Field(default="chat", max_length=8)  # "tap": callback answers, a fast lane
    method: str = Field(max_length=32)
    # the Bot API call's parameters; sealed (encrypted) when LEADBOT_PII_KEY is set
    payload: dict = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id")
    step: str | None = Field(default=None, max_length=32)  # the flow step this message asks
    # what else a message is: "card" (a lead's card or digest in a managers' chat), "lead"
    # (the lead in a manager's private chat: a reply to it reaches the prospect), "relay"
    # (words passed between manager and prospect), "amount" (a won sale's amount asked of
    # its manager: a reply to it is read as the amount, never relayed); None for the flow's
    # own messages
    purpose: str | None = Field(default=None, max_length=8)
    edit_of: int | None = Field(default=None, foreign_key="outbox.id")
    # the lead the message is about, whoever it goes to (a card, a manager's copy, a relayed
    # message): how erasure and /mydata find it. None on a digest of several leads.
    lead_id: int | None = Field(default=None, index=True)
    marketing: bool = False
    status: str = Field(default="pending", max_length=12)  # pending, sent, failed, dropped
    attempts: int = 0
    not_before: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = None
    # PostgreSQL, several processes: the sender that sends this row (the number whose
    # advisory lock a live process holds, storage/work/owners.py); None on SQLite and for
    # rows no sender has taken yet
    owner: int | None = None
    # a card or a card's edit (rewritten in place while it waits, bot/handoff/cards.py):
    # when a sender first started its call; from then on it is never rewritten
    called_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("conversation_id", "key"),
                      Index("ix_follow_ups_user_sent", "user_id", "sent_at"))

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    user_id: int = Field(sa_type=BigInteger, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    key: str = Field(max_length=32)
    text: str = Field(sa_type=Sealed)  # may quote the name
    marketing: bool = True
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # pending (due at due_at), waiting (for the one before it in its sequence), sent,
    # answered (its question answered: no second answer),
    # cancelled (a stop condition), dropped (stale after downtime)
    status: str = Field(default="pending", max_length=12)
    created_at: datetime = _time()
    # nurture (0013): which sequence and where in it, the delay from the one before, the
    # buttons (an inline keyboard; labels may quote the name), quiet hours and time zone
    # the flow set, whether anything the prospect writes ends it, when it went out
    kind: str = Field(default="sequence", max_length=12)  # sequence, reminder
    sequence: str | None = Field(default=None, max_length=32)
    position: int = 0
    delay_seconds: int = 0
    markup: dict | None = Field(default=None, sa_column=Column(SealedJSON, nullable=True))
    zone: str | None = Field(default=None, max_length=64)
    quiet: str | None = Field(default=None, max_length=16)
    stop_on_message: bool = False
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Handoff(SQLModel, table=True):
    """A lead given to the sales managers: its card, who claimed it and when, its status,
    and its SLA timers (durable: a restart fires them)."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_due", "claimed_at", "due_at"),
                      Index("ix_handoffs_conversation", "conversation_id"))

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", unique=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    user_id: int = Field(sa_type=BigInteger, index=True)  # the prospect
    chat_id: int = Field(sa_type=BigInteger)  # the managers' group it was announced in
    route: str | None = Field(default=None, max_length=32)  # LEADBOT_ROUTING_FILE's route
    assigned: bool = False  # given straight to a manager (round-robin / least-loaded)
    temperature: str = Field(max_length=8)
    language: str = Field(max_length=8)  # the prospect's
    submitted_at: datetime = Field(sa_type=UTCDateTime)  # the lead's last answer
    card_id: int | None = Field(default=None, foreign_key="outbox.id")  # card or digest
    card_text: str | None = Field(default=None, sa_type=Sealed)  # the lead as managers see it
    claimed_by: int | None = Field(default=None, sa_type=BigInteger)
    claimed_by_name: str | None = Field(default=None, max_length=128)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="new", max_length=16)  # new, claimed, contacted, meeting,
    #                                                    won, lost, nurture
    status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lost_reason: str | None = Field(default=None, max_length=32)
    first_contact_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the next SLA step
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _time()


class FlowVersion(SQLModel, table=True):
    """Every flow version ever run, so a conversation pinned to an old version can finish
    after a deploy replaced the file."""

    __tablename__ = "flow_versions"

    flow_id: str = Field(primary_key=True, max_length=32)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    digest: str = Field(max_length=64)
    definition: dict = Field(sa_column=Column(JSON, nullable=False))
    base_dir: str
    loaded_at: datetime = _time()


class CrmDelivery(SQLModel, table=True):
    """A lead's event for one CRM target (bot/deliveries/), written in the lead's transaction and
    delivered after it. No personal data: what is sent is built from the lead at send time,
    so erasure need not touch these rows (and `error` keeps only a status and a code)."""

    __tablename__ = "crm_deliveries"
    __table_args__ = (Index("ix_crm_deliveries_due", "status", "not_before"),
                      Index("ix_crm_deliveries_lead", "target", "lead_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(default_factory=lambda: uuid4().hex, max_length=32, unique=True)
    target: str = Field(max_length=16)  # webhook, bitrix24, amocrm
    lead_id: int = Field(foreign_key="leads.id")
    event: str = Field(max_length=16)  # qualified, handoff, claimed, status, sale, erased
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=12)  # pending, sent, failed
    attempts: int = 0  # raised (and committed) before each try: > 0 means "may have arrived"
    not_before: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=120)
    alerted: bool = False  # the managers were told it is late


class CrmLink(SQLModel, table=True):
    """Which CRM record a lead became: how later events update it, never create it again."""

    __tablename__ = "crm_links"

    lead_id: int = Field(foreign_key="leads.id", primary_key=True)
    target: str = Field(primary_key=True, max_length=16)
    remote_id: str = Field(max_length=64)
    contact_id: str | None = Field(default=None, max_length=64)  # amoCRM's contact
    created_at: datetime = _time()


class JobRun(SQLModel, table=True):
    """When a pass of a job every process runs on a timer last ran (pruning, retention):
    the process whose UPDATE moves `ran_at` on runs the pass (storage/work/passes.py)."""

    __tablename__ = "job_runs"

    name: str = Field(primary_key=True, max_length=32)
    ran_at: datetime = _time()


import storage.schema.broadcasts  # noqa: E402  (registers the broadcast tables)
import storage.schema.money  # noqa: E402  (registers the money tables with the metadata)
import storage.schema.people  # noqa: E402,F401  (registers the dashboard people tables)
