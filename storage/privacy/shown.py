"""What erasure does to the messages the bot already sent about a person: their stored
payloads in erased form (`erased_message`: every copy of the person's data replaced,
links to their Telegram account gone with their words, the other entities kept in place),
which of them Telegram still shows in someone else's chat (`to_edit`: the bot edits each),
and the receipt's list of those Telegram would not let it edit (`unedited`).

May import: storage.schema, SQLAlchemy.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import select

from storage.schema.tables import Conversation, Event, OutboxMessage
from storage.work.uow import UnitOfWork

ERASED = "[erased]"
# why a message could not be edited, as the receipt says it (chosen by us, never
# Telegram's words): the bot was removed from the chat or blocked in it, the message was
# deleted, Telegram no longer lets it be edited, or it refused for another reason
REASONS = {"removed", "deleted", "too_old", "refused"}
_MESSAGES = (("message to edit not found", "deleted"), ("message_id_invalid", "deleted"),
             ("message can't be edited", "too_old"), ("chat not found", "removed"),
             ("kicked", "removed"), ("not a member", "removed"))


def scrub(value: Any, secrets: set[str]) -> Any:
    """`value` (JSON) with every occurrence of each secret replaced by [erased]."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, ERASED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def links_to(entity_or_button: Any, user_id: int) -> bool:
    """A text link, mention or button that opens the person's Telegram account."""
    if not isinstance(entity_or_button, dict):
        return False
    url = str(entity_or_button.get("url") or "").replace(" ", "")
    if url.startswith("tg://user?id=") and url[len("tg://user?id="):] == str(user_id):
        return True
    user = entity_or_button.get("user")
    return isinstance(user, dict) and user.get("id") == user_id


def erased_message(payload: dict, secrets: set[str], user_id: int) -> dict:
    """A Bot API payload (a message, or an edit of one) in erased form. The text is cut at
    its entities' edges: each piece is scrubbed on its own and the entities moved to where
    their text now is, so a link still covers its own words; a link to the person's
    account goes, and its words with it (a card's "Write in Telegram")."""
    payload = dict(payload)
    key = "text" if "text" in payload else "caption"
    entities_key = "entities" if key == "text" else "caption_entities"
    text, entities = payload.get(key), payload.get(entities_key)
    if "reply_markup" in payload:
        payload["reply_markup"] = _markup(payload["reply_markup"], secrets, user_id)
    rest = {k: v for k, v in payload.items() if k not in (key, entities_key)}
    rest = scrub(rest, secrets)
    if not isinstance(text, str) or not isinstance(entities, list) or not entities:
        return rest | ({key: scrub(text, secrets)} if key in payload else {}) | (
            {entities_key: entities} if entities_key in payload else {})
    raw = text.encode("utf-16-le")
    size = len(raw) // 2
    spans = [(int(e.get("offset", 0)), int(e.get("offset", 0)) + int(e.get("length", 0)))
             for e in entities]
    cuts = sorted({0, size, *(min(max(edge, 0), size) for span in spans for edge in span)})
    gone = [span for span, e in zip(spans, entities, strict=True) if links_to(e, user_id)]
    new, at = "", {0: 0}
    for start, end in pairwise(cuts):
        if not any(a <= start and end <= b for a, b in gone):
            new += scrub(raw[2 * start:2 * end].decode("utf-16-le"), secrets)
        at[end] = len(new.encode("utf-16-le")) // 2
    moved = []
    for (start, end), entity in zip(spans, entities, strict=True):
        start, end = at.get(min(max(start, 0), size), 0), at.get(min(max(end, 0), size), 0)
        if not links_to(entity, user_id) and end > start:
            moved.append(scrub({**entity, "offset": start, "length": end - start}, secrets))
    if scrub(new, secrets) != new:  # a secret across an entity's edge: no entities then
        new, moved = scrub(new, secrets), []
    return rest | {key: new, entities_key: moved}


def _markup(markup: Any, secrets: set[str], user_id: int) -> Any:
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return scrub(markup, secrets)
    rows = [[b for b in row if not links_to(b, user_id)] for row in markup["inline_keyboard"]
            if isinstance(row, list)]
    return scrub({**markup, "inline_keyboard": [row for row in rows if row]}, secrets)


def message_id(row: OutboxMessage) -> int | None:
    """The Telegram message a sent row made, or the one it edited (by id)."""
    if row.method == "sendMessage":
        return row.telegram_message_id
    if row.method == "editMessageText" and row.edit_of is None:
        value = (row.payload or {}).get("message_id")
        return value if isinstance(value, int) else None
    return None


def to_edit(row: OutboxMessage, own_chats: set[int]) -> bool:
    """A message Telegram shows in someone else's chat (a managers' group, a manager's
    private chat), that the bot made and may edit: its erased form replaces it there.
    Cards and their edits are redrawn by the hand-off itself (bot/handoff/cards.py)."""
    return (row.status == "sent" and row.chat_id not in own_chats and row.purpose != "card"
            and row.lane == "chat" and message_id(row) is not None)


def reason(error: str, blocked: bool = False) -> str:
    """The receipt's reason for Telegram's refusal (its words are never kept)."""
    if blocked:
        return "removed"
    lowered = error.lower()
    return next((code for words, code in _MESSAGES if words in lowered), "refused")


async def unedited(uow: UnitOfWork, row: OutboxMessage, why: str) -> None:
    """An erasure's edit Telegram would not make: the latest `erased` event of the person
    it was for lists the chat, the message and why (no personal data)."""
    session = uow.session
    assert session is not None
    if row.conversation_id is None:
        return
    user_id = await session.scalar(select(Conversation.user_id).where(
        Conversation.id == row.conversation_id))
    # locked: two refusals answered at once each add theirs (PostgreSQL; SQLite's
    # transactions that write are one at a time)
    event = (await session.execute(select(Event).where(
        Event.user_id == user_id, Event.kind == "erased").order_by(Event.id.desc()).limit(1)
        .with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()
    if event is None:
        return
    data = dict(event.data or {})
    listed = list(data.get("unedited") or ())
    message = (row.payload or {}).get("message_id")
    if message is None and row.edit_of is not None:  # a card's edit: the card's message
        message = await session.scalar(select(OutboxMessage.telegram_message_id).where(
            OutboxMessage.id == row.edit_of))
    entry = {"chat": row.chat_id, "message": message, "reason": why}
    if entry not in listed:
        data["unedited"] = [*listed, entry]
        event.data = data


async def pending_edits(uow: UnitOfWork, chat_id: int) -> list[OutboxMessage]:
    """An erasure's edits still queued for a chat (it refused the bot: none will go)."""
    session = uow.session
    assert session is not None
    return list((await session.execute(select(OutboxMessage).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending",
        OutboxMessage.purpose == "erasure"))).scalars())
