"""Demo history for the dashboard's tests and its screenshot: `prospects` people through the
flows the bot loaded (their real steps, in the versions snapshotted at start), from a few
deep-link sources over the last days, some leaving early, some going back; leads of every
temperature, hand-offs claimed by three managers. Deterministic (a seeded random)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dialogs.rules.funnel import marked, step_order
from storage.schema.tables import Answer, Conversation, Event, Handoff, Lead, Prospect
from storage.work.uow import UnitOfWork

SOURCES = ("instagram", "vk", "youtube", None)
MANAGERS = ((501, "Olga"), (502, "Taras"), (503, "Иван"))
QUESTIONS = {"single_choice", "multiple_choice", "free_text", "number", "calculator"}


async def fill(sessions, flows, prospects: int = 120, seed: int = 13,
               now: datetime | None = None, days: int = 10) -> None:
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    names = sorted(flows.latest)
    async with UnitOfWork(sessions) as uow:
        session = uow.session
        for user in range(9_000_001, 9_000_001 + prospects):
            flow = flows.latest[names[0] if rng.random() < 0.7 else rng.choice(names)].flow
            definition = flow.model_dump(mode="json")
            order = step_order(definition)
            source = rng.choice(SOURCES)
            at = now - timedelta(seconds=rng.randrange(60, days * 86400))
            session.add(Prospect(user_id=user, chat_id=user, language=rng.choice(("ru", "uk",
                                                                                  "en"))))
            await session.flush()  # the prospect before its conversation (foreign key)
            ends = [i for i, (_, kind) in enumerate(order) if kind == "end"] or [len(order) - 1]
            path = order[:ends[0] + 1]
            branch = branches(definition, [step for step, _ in path])
            if branch and rng.random() < 0.12:  # some leave by a branch (out of area, ...)
                at_step, end = rng.choice(branch)
                path = path[:[s for s, _ in path].index(at_step) + 1] + [(end, "end")]
            stop = len(path) if rng.random() < 0.35 else 1 + int(len(path) * rng.random() ** 1.3)
            conversation = Conversation(user_id=user, chat_id=user, flow_id=flow.id,
                                        flow_version=flow.version, step=path[stop - 1][0],
                                        source=source, started_at=at, updated_at=at,
                                        # an A/B variant's conversation says so, as the bot's
                                        experiment=flow.experiment and flow.experiment.name,
                                        variant=flow.experiment and flow.experiment.variant)
            session.add(conversation)
            await session.flush()
            when = at

            def event(kind: str, step: str | None, data: dict, when: datetime,
                      c: Conversation = conversation) -> None:
                uow.stage(Event, user_id=c.user_id, conversation_id=c.id, kind=kind,
                          flow_id=c.flow_id, flow_version=c.flow_version, step=step,
                          source=c.source, data=data, created_at=when)
                # what the bot keeps with the state, from the same actions as the events
                c.progress = marked(c.progress, kind, step, data.get("purpose"))

            for step, kind in path[:stop]:
                when += timedelta(seconds=rng.randrange(3, 60))
                event("step", step, {"step_kind": kind}, when)
                if kind in QUESTIONS:
                    for _ in range(2 if rng.random() < 0.1 else 1):  # some go back
                        event("answer", step, {"points": 5}, when)
                        value = answer(definition["steps"][step], rng, path, step)
                        session.add(Answer(conversation_id=conversation.id, step=step,
                                           value=value, label=f"{step}: {value}",
                                           created_at=when))
                elif kind == "consent":
                    event("answer", step, {"points": 0}, when)
                    declined = definition["steps"][step].get("declined")
                    if declined not in {s for s, _ in path}:  # not the "no consent" branch
                        event("consent", step, {"purpose": "processing", "granted": True},
                              when)
                elif kind == "contact":
                    event("contact", None, {"fields": ["phone"]}, when)
            if stop < len(path) * 0.7 or path[stop - 1][0] in {e for _, e in branch}:
                continue
            if not (conversation.progress or {}).get("contact"):  # a lead left a contact
                continue
            temperature = rng.choice(("hot", "hot", "warm", "cold"))
            outcome = {"hot": "handoff", "warm": "nurture", "cold": "close"}[temperature]
            lead = Lead(conversation_id=conversation.id, user_id=user, flow_id=flow.id,
                        flow_version=flow.version, source=source, score=rng.randrange(100),
                        name=f"Demo {user % 1000}", phone=f"+7999{user:07d}"[-12:],
                        temperature=temperature, mql=temperature != "cold",
                        sql=temperature == "hot", target=temperature != "cold",
                        outcome=outcome, status=outcome, created_at=when, updated_at=when,
                        qualified_at=when)
            session.add(lead)
            await session.flush()
            if outcome != "handoff":
                continue
            claimed = contacted = manager = name = None
            if rng.random() < 0.9:
                manager, name = rng.choice(MANAGERS)
                claimed = when + timedelta(seconds=rng.randrange(30, 3 * 3600))
                if rng.random() < 0.8:
                    contacted = claimed + timedelta(seconds=rng.randrange(60, 3600))
            session.add(Handoff(
                lead_id=lead.id, conversation_id=conversation.id, user_id=user, chat_id=-100,
                temperature=temperature, language="ru", submitted_at=when, created_at=when,
                claimed_by=manager, claimed_by_name=name, claimed_at=claimed,
                first_contact_at=contacted,
                status=rng.choice(("claimed", "contacted", "won", "lost")) if claimed
                else "new"))
        await uow.commit()


def branches(definition: dict, path: list[str]) -> list[tuple[str, str]]:
    """(a step on `path`, an end step off it that the step's option or decline leads to)."""
    steps = definition["steps"]
    found = []
    for step in path:
        spec = steps[step]
        targets = [o.get("next") for o in spec.get("options") or ()] + [spec.get("declined")]
        found += [(step, t) for t in targets
                  if t and t not in path and steps.get(t, {}).get("kind") == "end"]
    return found


def answer(spec: dict, rng: random.Random, path: list, step: str):
    """An answer as the bot stores it: an option's id (one, or a list), or a number."""
    options = [o["id"] for o in spec.get("options") or ()]
    following = [s for s, _ in path]
    if spec["kind"] == "single_choice" and options:
        leads_on = [o["id"] for o in spec["options"] if o.get("next") in following
                    and following.index(o["next"]) == following.index(step) + 1]
        return rng.choice(leads_on or [o["id"] for o in spec["options"]
                                       if not o.get("next") or o["next"] in following]
                          or options)
    if spec["kind"] == "multiple_choice" and options:
        return sorted(rng.sample(options, rng.randint(1, len(options))))
    return rng.randrange(10, 200)
