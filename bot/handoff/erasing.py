"""After /forget or retention: every message the bot sent about the person to someone
else's chat shows its erased form in Telegram. The cards and digests are redrawn
(cards.py: no name, phone, email, no link to the person's account, no Claim button);
every other message (a manager's private copy and its status edits, relayed words, SLA
reminders, escalations) is edited to the erased form storage/privacy/erasure.py left in
its row. The edits are outbox rows written in the erasure's own transaction (a crash
after it still sends them all), paced by the sender like any message; an edit Telegram
refuses is listed in the erasure's receipt (bot/outbox/outcomes.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.privacy import shown
from storage.schema.tables import Handoff, OutboxMessage
from storage.work.uow import UnitOfWork

PURPOSE = "erasure"  # an outbox row that edits a message to its erased form
KEPT = ("text", "entities", "link_preview_options")


def edit_shown(uow: UnitOfWork, rows: Iterable[OutboxMessage],
               handoffs: list[Handoff]) -> int:
    """An editMessageText for each sent message in `rows` (already in erased form, one row
    per message: storage/privacy/shown.py). Returns how many."""
    conversation_of = {h.lead_id: h.conversation_id for h in handoffs}
    count = 0
    for row in rows:
        message_id = shown.message_id(row)
        if message_id is None:
            continue
        payload = {k: v for k, v in row.payload.items() if k in KEPT}
        text = str(payload.get("text") or "")
        payload["text"] = text.rstrip() or shown.ERASED  # entities end within the text
        markup = row.payload.get("reply_markup")
        # a manager's copy keeps its status buttons (in their private chat); a reminder's
        # Claim in a group (nothing to claim) and a relay's End button (it is over) go
        if (row.purpose != "relay" and row.chat_id > 0 and isinstance(markup, dict)
                and "inline_keyboard" in markup):
            payload["reply_markup"] = markup
        uow.stage(OutboxMessage, chat_id=row.chat_id, method="editMessageText",
                  purpose=PURPOSE, lead_id=row.lead_id,
                  conversation_id=row.conversation_id or conversation_of.get(row.lead_id),
                  payload={"chat_id": row.chat_id, "message_id": message_id, **payload})
        count += 1
    return count
