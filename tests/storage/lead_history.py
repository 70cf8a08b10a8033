"""One lead's whole story, written by the real service (bot/service/core.py) on whichever
database is given: the kitchen quiz in Russian to a hot lead (consent, contact, card),
claimed by a manager, set to "contacted", then "won"; a follow-up sent; its CRM deliveries
(a webhook target configured), one of them delivered. What the delivery worker and the
follow-up job would write after the quiz (sent_at, status) is written here directly: they
have tests of their own (tests/bot/test_crm.py, test_nurture.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import select, update

from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.service import callbacks
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from bot.service.intents import ManagerTap
from storage.deliveries import rows as crm
from storage.schema.tables import CrmDelivery, FollowUp, Handoff, Lead, OutboxMessage, utcnow
from storage.work.uow import UnitOfWork
from tests.bot.test_service import Prospectus
from tests.conftest import FLOWS_DIR
from tests.intents import intent

GROUP = -100500
USER = 4242
MANAGER = 77
MANAGER_NAME = "Olga Petrova"
NAME = "Анна Клиентова"
PHONE = "+7 916 123-45-67"
COMMENT = "Позвоните после шести, домофон 42"  # a free-text answer: the person's own words
CHOSEN = ("appliances", "sink")  # the multiple choice's options picked


def flows_with_a_comment(folder: Path) -> FlowRegistry:
    """The kitchen quiz with a free-text question after the contact (no shipped flow has one):
    the flows the lead's story runs, written to `folder`."""
    flow = yaml.safe_load((FLOWS_DIR / "kitchen-quiz.yaml").read_text(encoding="utf-8"))
    flow["steps"]["contact"]["next"] = "comment"
    flow["steps"]["comment"] = {
        "kind": "free_text", "next": "code",
        "text": {"ru": "Что ещё нам стоит знать?", "uk": "Що ще нам варто знати?",
                 "en": "Anything else we should know?"}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kitchen-quiz.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True),
                                              encoding="utf-8")
    return FlowRegistry.from_dir(folder)


def manager_tap(service: Service, update_id: int, data: str) -> object:
    return intent(update_id=update_id, user_id=MANAGER, chat_id=GROUP,
                  manager_tap=ManagerTap(update_id=update_id, user_id=MANAGER, chat_id=GROUP,
                                         name=MANAGER_NAME, data=data,
                                         query_id=f"q{update_id}"))


def service_for(sessions, flows: FlowRegistry) -> Service:
    return Service(sessions, flows,
                   handoffs=Handoffs(HandoffConfig(chat_id=GROUP, language="ru")))


async def forget(sessions, flows: FlowRegistry) -> None:
    """The prospect's /forget, confirmed: consent withdrawn, personal data erased."""
    prospect = Prospectus(service_for(sessions, flows), user_id=USER, language="ru")
    prospect.update_id += 500
    await prospect.send(command="forget")
    await prospect.send(rights_data="rights:forget:yes", callback_query_id="cb-forget")


async def lead_with_a_story(sessions, flows: FlowRegistry) -> int:
    """The lead's id (`flows`: flows_with_a_comment's)."""
    crm.configure([crm.Spec("webhook")])
    try:
        service = service_for(sessions, flows)
        async with UnitOfWork(sessions) as uow:  # as at start (bot/app.py)
            await service.flows.snapshot(uow)
            await uow.commit()
        prospect = Prospectus(service, user_id=USER, language="ru")
        await prospect.start("kitchen-quiz__instagram")
        for option in ("~go", "city", "island", "large", "veneer", *CHOSEN, "~done", "month",
                       "~yes", "~mkno"):
            await prospect.tap(option)
        await prospect.text(NAME)
        await prospect.text(PHONE)
        await prospect.text(COMMENT)
        async with sessions() as session:
            handoff = (await session.execute(select(Handoff))).scalar_one()
            lead_id = handoff.lead_id
        await service.handle(manager_tap(service, 90_001, f"claim:{handoff.id}"))
        await service.handle(manager_tap(service, 90_002,
                                         callbacks.status(handoff.id, "contacted")))
        await service.handle(manager_tap(service, 90_003,
                                         callbacks.status(handoff.id, "won")))
    finally:
        crm.configure(())
    now = utcnow()
    async with UnitOfWork(sessions) as uow:  # what the sender, the worker, the job did
        session = uow.session
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == handoff.card_id)
                              .values(status="sent", sent_at=now))
        first = (await session.execute(select(CrmDelivery.id).where(
            CrmDelivery.lead_id == lead_id).order_by(CrmDelivery.id))).scalars().first()
        await session.execute(update(CrmDelivery).where(CrmDelivery.id == first).values(
            status="sent", attempts=1, sent_at=now))
        lead = await session.get(Lead, lead_id)
        session.add(FollowUp(conversation_id=lead.conversation_id, user_id=USER, chat_id=USER,
                             key="thanks", text="Спасибо!", due_at=now, status="sent",
                             sent_at=now + timedelta(seconds=1)))
        await uow.commit()
    return lead_id
