"""The prospect's rights over what is stored, but erasure (erasure.py): access (GDPR
Art. 15 / 20: `export`), the consents in force (`granted`) and withdrawing consent
(Art. 7(3), 38-FZ Art. 18: `withdraw`). All inside the caller's transaction.

The consent ledger is append-only: withdrawals are new rows, and nothing personal was ever
in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from dialogs.rules.conversions import NAMES, PLATFORMS
from storage.privacy import scope
from storage.schema.tables import (
    Answer,
    Consent,
    Conversation,
    CrmDelivery,
    CrmLink,
    Event,
    FollowUp,
    Handoff,
    Lead,
    OutboxMessage,
    Prospect,
    UnmatchedText,
)
from storage.work import broadcasts, tracking
from storage.work.uow import UnitOfWork

PURPOSES = ("processing", "marketing")


def _row(model: Any) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    data.pop("phone_hash", None)  # derived from the phone, says nothing more
    return data


async def export(uow: UnitOfWork, user_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything stored about one Telegram user, as JSON-ready data (None: nothing)."""
    session = uow.session
    assert session is not None
    prospect = await session.get(Prospect, user_id)
    if prospect is None:
        return None

    async def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        result = await session.execute(select(model).where(*where).order_by(model.id))
        return [_row(row) for row in result.scalars()]

    conversations = await rows(Conversation, Conversation.user_id == user_id)
    ids = [c["id"] for c in conversations]
    leads = await rows(Lead, Lead.user_id == user_id)
    handoffs = await rows(Handoff, Handoff.user_id == user_id)
    own_cards = await _own_cards(session, [h["id"] for h in handoffs])
    return {
        "exported_at": now.isoformat(),
        "telegram_user_id": user_id,
        "prospect": _row(prospect),
        "conversations": conversations,
        "answers": await rows(Answer, Answer.conversation_id.in_(ids)),
        # what they typed that the bot did not understand (masked), kept for the marketer
        "unmatched_texts": await rows(UnmatchedText, UnmatchedText.user_id == user_id),
        "leads": leads,
        "consents": await rows(Consent, Consent.user_id == user_id),
        "follow_ups": await rows(FollowUp, FollowUp.user_id == user_id),
        "events": await rows(Event, Event.user_id == user_id),
        "handoffs": handoffs,
        # every message to them or about them (the managers' cards, copies, relayed words);
        # a digest of several leads is left out: their card text above is theirs. A
        # manager's chat holds clients' cards, copies and words: those are the clients'
        "messages": await rows(OutboxMessage, scope.about(
            user_id, ids, [lead["id"] for lead in leads], own_cards),
            *scope.not_others(ids, [lead["id"] for lead in leads])),
        **await _crm(session, [lead["id"] for lead in leads]),
        # the tracking links they came by: the link, when, which click ids were given
        "clicks": await tracking.clicks_of(session, (c["click_id"] for c in conversations)),
        # the broadcasts meant for them: which, what became of it and when
        "broadcasts": await broadcasts.of_person(session, user_id),
    }


async def _crm(session: Any, lead_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Where the leads were sent (which CRM, which event, when, how it went: a reason of
    ours, never a CRM's words) and the CRM's ids of them; the ad platforms' conversions
    on their own (`conversions`)."""
    deliveries = list((await session.execute(
        select(CrmDelivery).where(CrmDelivery.lead_id.in_(lead_ids))
        .order_by(CrmDelivery.id))).scalars()) if lead_ids else []
    links = (await session.execute(
        select(CrmLink).where(CrmLink.lead_id.in_(lead_ids))
        .order_by(CrmLink.lead_id, CrmLink.target))).scalars() if lead_ids else []
    return {
        "crm_deliveries": [row.model_dump(mode="json", include={
            "lead_id", "target", "event", "status", "attempts", "created_at", "sent_at",
            "error"}) for row in deliveries if row.target not in PLATFORMS],
        "crm_links": [_row(link) for link in links],
        "conversions": [_conversion(row) for row in deliveries if row.target in PLATFORMS],
    }


def _conversion(row: CrmDelivery) -> dict[str, Any]:
    """A conversion as the person is shown it: which platform, which goal, how it went
    (pending: not sent yet; sent; accepted: the platform confirmed it; failed; skipped: not
    sent by design) and when (sent, else noted). Nothing else: the rest is ours."""
    dumped = row.model_dump(mode="json", include={"created_at", "sent_at"})
    return {"platform": NAMES[row.target], "goal": (row.data or {}).get("goal"),
            "status": row.status, "date": dumped["sent_at"] or dumped["created_at"]}


async def in_force(uow: UnitOfWork, user_id: int) -> dict[tuple[str | None, str], Consent]:
    """The consents in force with every company: (operator, purpose) -> the row that
    granted it (a later withdrawal of that purpose from that company ends it). Rows from
    before the ledger named the company have None."""
    current: dict[tuple[str | None, str], Consent] = {}
    for row in await uow.consents.for_user(user_id):
        if row.granted:
            current[row.operator, row.purpose] = row
        else:
            current.pop((row.operator, row.purpose), None)
    return current


async def granted(uow: UnitOfWork, user_id: int, operator: str) -> dict[str, Consent]:
    """The consents in force with one company (Operator.key): purpose -> the row that
    granted it. A consent to another company is not one to this."""
    return {purpose: row for (company, purpose), row in (await in_force(uow, user_id)).items()
            if company == operator}


async def withdraw(uow: UnitOfWork, user_id: int, purposes: Iterable[str], *, now: datetime,
                   text_sha256: str, language: str, update_id: int | None,
                   channel: str | None = None, message_id: int | None = None) -> list[str]:
    """Ledger rows withdrawing each purpose in force, from every company; its effects at
    once: marketing follow-ups and queued marketing messages cancelled, the consent gone
    from every conversation's state (so no flow carries it on). `channel` and `message_id`:
    where the person asked (the message whose button they tapped). Returns the purposes
    withdrawn."""
    session = uow.session
    assert session is not None
    purposes = list(purposes)
    uow.outbox.changed = True  # queued marketing is dropped below
    rows = await in_force(uow, user_id)
    withdrawn = [p for p in purposes if any(purpose == p for _, purpose in rows)]
    for (operator, purpose), row in rows.items():
        if purpose in purposes:
            uow.stage(Consent, user_id=user_id, conversation_id=row.conversation_id,
                      purpose=purpose, granted=False, policy_version=row.policy_version,
                      text_sha256=text_sha256, language=language, update_id=update_id,
                      created_at=now, operator=operator, channel=channel,
                      message_id=message_id)
    # /stop ends the marketing follow-ups and the abandoned-quiz reminder (not marketing,
    # but still a message they did not ask for now); withdrawing processing ends them all
    marketing_only = [or_(FollowUp.marketing.is_(True), FollowUp.kind == "reminder")
                      ] if "processing" not in purposes else []
    await session.execute(
        update(FollowUp).where(FollowUp.user_id == user_id,
                               FollowUp.status.in_(("pending", "waiting")),
                               *marketing_only).values(status="cancelled"))
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.chat_id == user_id,
                                    OutboxMessage.status == "pending",
                                    OutboxMessage.marketing.is_(True))
        .values(status="dropped", error="consent withdrawn"))
    for conversation in await scope.conversations(uow, user_id):
        consents = dict(conversation.state.get("consents") or {})
        if any(p in consents for p in purposes):
            for purpose in purposes:
                consents.pop(purpose, None)
            conversation.state = {**conversation.state, "consents": consents}
    return withdrawn


async def _own_cards(session: Any, handoff_ids: list[int]) -> set[int]:
    """The cards that show only these hand-offs (not a digest with other prospects)."""
    if not handoff_ids:
        return set()
    cards = {card_id for (card_id,) in await session.execute(
        select(Handoff.card_id).where(Handoff.id.in_(handoff_ids),
                                      Handoff.card_id.isnot(None)))}
    return cards - await scope.shared_cards(session, cards, set(handoff_ids))
