"""A tap on a broadcast's button (`bc:ID:INDEX`, bot/service/callbacks.py), for whom it was
sent to: counted on their recipient row, then
- a flow button starts that flow as the menu would, its conversation's source
  `broadcast:NAME` (so `leadbot report --source broadcast:NAME` shows what came of it);
- a question's answer is recorded (an event) and scores like a follow-up's: its points join
  the lead's, the flow's rules qualify the lead again, and a lead that became hot is handed
  off. Only a lead no manager has yet: a claimed or won lead keeps its status.
A button of a broadcast never sent to them, cancelled since, or of a number no button has
(or a link's: Telegram opens a link, it never taps it back), is answered politely and
changes nothing.

May import: bot.service, bot.outbox, storage, dialogs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.outbox import messages
from bot.service.intents import BroadcastTap, PickFlow
from bot.service.rights import CHANNEL
from bot.texts import language_of
from dialogs.broadcasts.schema import from_dict, source_of
from dialogs.broadcasts.scoring import answered
from dialogs.engine.state import State
from storage.record import Recorder
from storage.schema.tables import Event
from storage.work.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.service.core import Service

WORDS = {  # the tap's short answer (a toast)
    "ru": {"noted": "Спасибо, ответ записан", "stale": "Эта кнопка больше не действует"},
    "uk": {"noted": "Дякуємо, відповідь записано", "stale": "Ця кнопка більше не діє"},
    "en": {"noted": "Thank you, noted", "stale": "This button no longer works"},
}


async def tap(service: Service, uow: UnitOfWork, press: BroadcastTap, now: datetime) -> bool:
    prospect, current = await service._prospect(uow, press, now)
    language = language_of(prospect.language or press.language_code)
    words = WORDS.get(language, WORDS["en"])
    broadcast = await uow.broadcasts.get(press.press.broadcast_id)
    recipient = None if broadcast is None else await uow.broadcasts.recipient(
        broadcast.id, prospect.user_id)
    definition = from_dict(broadcast.definition) if broadcast is not None else None
    buttons = definition.message.buttons if definition is not None else ()
    index = press.press.index
    cancelled = broadcast is not None and broadcast.status == "cancelled"
    if (recipient is None or recipient.outbox_id is None or cancelled
            or not 0 <= index < len(buttons) or buttons[index].url is not None):
        # a link is never tapped back (Telegram opens it): such data is forged, not a tap
        messages.answer(uow, prospect.chat_id, press.query_id, words["stale"])
        return False
    assert broadcast is not None and definition is not None
    button = buttons[index]
    await uow.broadcasts.tap(broadcast.id, prospect.user_id, index)
    uow.stage(Event, user_id=prospect.user_id, kind="broadcast_tap",
              conversation_id=current.id if current is not None else None,
              source=source_of(broadcast.name), created_at=now,
              data={"broadcast": broadcast.name, "button": index,
                    **({"answer": button.answer} if button.answer else {})})
    if button.flow:
        pick = PickFlow(update_id=press.update_id, user_id=press.user_id,
                        chat_id=press.chat_id, language_code=press.language_code,
                        flow_id=button.flow, query_id=press.query_id,
                        source=source_of(broadcast.name))
        await service._converse(uow, prospect, current, pick, now)
        return False
    messages.answer(uow, prospect.chat_id, press.query_id, words["noted"])
    if button.answer and button.points and current is not None:
        await _score(service, uow, current, broadcast.name, button.answer, button.points,
                     press.update_id, now)
    return False


async def _score(service: Service, uow: UnitOfWork, conversation, name: str, answer: str,
                 points: int, update_id: int, now: datetime) -> None:
    """The answer's points join the lead's (once per broadcast: answering again replaces
    the earlier answer), and the flow's rules qualify it again."""
    lead = await uow.leads.for_conversation(conversation.id)
    if lead is None or not conversation.state or (
            await uow.handoffs.for_lead(lead.id) is not None):
        return  # no lead to score, or a manager has it: its status is theirs
    state = State.from_dict(conversation.state)
    runnable = await service.flows.pinned(uow, state.flow_id, state.flow_version)
    if runnable is None:
        return
    actions: list = answered(runnable.flow, state, lead.breakdown or (), name, answer, points)
    await Recorder(uow, conversation, now, update_id, channel=CHANNEL).record(actions)
    qualification = service.handoffs.wanted(actions, state.consents)
    if qualification is not None:
        await service.handoffs.announce(uow, conversation, state, runnable.flow,
                                        qualification, now)
