"""People for the broadcast tests: a prospect with one conversation (and its lead, hand-off,
answers and marketing consent rows) written straight into the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.schema.tables import Consent, Conversation, Handoff, Lead, Prospect

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def person(session: Any, user_id: int, *, flow: str = "kitchen-quiz", version: int = 1,
                 experiment: str | None = None, variant: str | None = None,
                 source: str | None = "vk", campaign: str | None = None,
                 language: str | None = "ru", blocked: bool = False,
                 consents: tuple[bool, ...] = (True,), answers: dict | None = None,
                 lead: dict | None = None, handoff: str | None = None,
                 started_at: datetime = NOW, updated_at: datetime | None = None,
                 erased: bool = False, new_prospect: bool = True) -> Conversation:
    """A prospect (unless `new_prospect` is False: another conversation of theirs) with one
    conversation; `consents`: their marketing rows in order (True grants, False withdraws);
    `lead`: the lead's columns (a lead only when given); `handoff`: its hand-off's status."""
    if new_prospect:
        session.add(Prospect(user_id=user_id, chat_id=user_id, language=language,
                             blocked=blocked))
        await session.flush()
    conversation = Conversation(
        user_id=user_id, chat_id=user_id, flow_id=flow, flow_version=version, step="done",
        source=source, campaign=campaign, experiment=experiment, variant=variant,
        state={"answers": answers or {}, "language": language or "ru"},
        progress={"contact": True} if lead is not None and lead.pop("contact", True) else {},
        started_at=started_at, updated_at=updated_at or started_at,
        erased_at=NOW if erased else None)
    session.add(conversation)
    await session.flush()
    for granted in consents:
        session.add(Consent(user_id=user_id, conversation_id=conversation.id,
                            purpose="marketing", granted=granted, policy_version="1",
                            text_sha256="0" * 64, language="ru", created_at=NOW,
                            operator="Acme"))
        await session.flush()  # in order: the latest row has the highest id
    if lead is not None:
        row = Lead(conversation_id=conversation.id, user_id=user_id, flow_id=flow,
                   flow_version=version, source=source, **lead)
        session.add(row)
        await session.flush()
        if handoff is not None:
            session.add(Handoff(lead_id=row.id, conversation_id=conversation.id,
                                user_id=user_id, chat_id=-100, temperature="hot",
                                language="ru", submitted_at=NOW, status=handoff))
            await session.flush()
    return conversation
