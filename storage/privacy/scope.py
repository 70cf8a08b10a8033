"""The reach of one prospect's data, for their rights and its erasure: their conversations,
every outbox row to them or about their leads, and the digests that also show other
prospects' leads (which their erasure must not drop)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import aliased

from storage.schema.tables import Conversation, Handoff, OutboxMessage
from storage.work.uow import UnitOfWork


def about(user_id: int | None, conversation_ids: list[int], lead_ids: list[int],
           cards: Iterable[int]) -> Any:
    """Outbox rows to or about a prospect: their conversations', their private chat's (when
    `user_id` is given), and every row about their leads: by lead, or a card (or an edit of
    one) that shows them."""
    cards = list(cards)
    return or_(OutboxMessage.conversation_id.in_(conversation_ids),
               OutboxMessage.chat_id == user_id if user_id is not None else false(),
               OutboxMessage.lead_id.in_(lead_ids), OutboxMessage.id.in_(cards),
               OutboxMessage.edit_of.in_(cards))


def not_others(conversation_ids: list[int], lead_ids: list[int]) -> list[Any]:
    """Conditions leaving out the rows about another person's conversation or lead (what a
    manager's private chat holds of their clients), and the edits of those rows."""
    other = aliased(OutboxMessage)
    theirs = select(other.id).where(or_(
        and_(other.lead_id.is_not(None), other.lead_id.not_in(lead_ids)),
        and_(other.conversation_id.is_not(None), other.conversation_id.not_in(conversation_ids))))
    return [or_(OutboxMessage.lead_id.is_(None), OutboxMessage.lead_id.in_(lead_ids)),
            or_(OutboxMessage.conversation_id.is_(None),
                OutboxMessage.conversation_id.in_(conversation_ids)),
            or_(OutboxMessage.edit_of.is_(None), OutboxMessage.edit_of.not_in(theirs))]


async def shared_cards(session: Any, cards: set[int], handoff_ids: set[int]) -> set[int]:
    """Of these cards, the digests that also show other prospects' leads."""
    if not cards:
        return set()
    result = await session.execute(select(Handoff.card_id).where(
        Handoff.card_id.in_(cards), Handoff.id.notin_(handoff_ids)))
    return {card_id for (card_id,) in result}


async def conversations(uow: UnitOfWork, user_id: int,
                         ids: Iterable[int] | None = None) -> list[Conversation]:
    session = uow.session
    assert session is not None
    query = select(Conversation).where(Conversation.user_id == user_id)
    if ids is not None:
        query = query.where(Conversation.id.in_(list(ids)))
    return list((await session.execute(query.order_by(Conversation.id))).scalars())
