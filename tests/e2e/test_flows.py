"""Every shipped flow through Telegram: the scenario files replayed as real updates (taps
name options by id, so the same script works in every language)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs.followups import NurtureConfig, deliver
from dialogs.engine import callback
from dialogs.format.loader import flow_files, load_flows
from dialogs.format.scenarios import TAP_WORDS, scenario_file
from dialogs.format.schema import duration_seconds
from dialogs.format.yamlsource import parse_yaml
from dialogs.rules.experiments import assign
from storage.schema.tables import Lead, utcnow
from storage.work.uow import UnitOfWork
from tests.conftest import FLOWS_DIR

SHIPPED = load_flows([FLOWS_DIR])


def scenarios() -> list[tuple[str, dict]]:
    found = []
    for path in flow_files([FLOWS_DIR]):
        data = parse_yaml(scenario_file(path).read_text(encoding="utf-8")).data
        found += [(data["flow"], scenario) for scenario in data["scenarios"]]
    return found


def cases() -> list:
    result, firsts = [], {}
    for flow_id, scenario in scenarios():
        result.append(pytest.param(flow_id, scenario, scenario.get("language", "en"),
                                   id=f"{flow_id}: {scenario['name'][:40]}"))
        firsts.setdefault(flow_id, scenario)
    for flow_id, scenario in firsts.items():  # the first one again, in every language
        for language in ("ru", "uk", "en"):
            if language != scenario.get("language"):
                result.append(pytest.param(flow_id, scenario, language,
                                           id=f"{flow_id} in {language}"))
    return result


NURTURE_TAPS = {"resume": callback.RESUME, "file": callback.FILE}
# The bot's clock is real; a scenario's `wait` runs the follow-ups job that much later.
# Quiet hours are tested on a controlled clock (tests/bot/test_nurture.py): off here.
ANYTIME = NurtureConfig(quiet="off", stale=timedelta(0))


async def replay(prospect, item: dict, waited: list[float]) -> None:
    if "say" in item:  # typed instead of tapped (docs/typed.md); `expect` is checked by
        await prospect.send(str(item["say"]))  # the scenario run (dialogs/format/scenarios)
        return
    (verb, value), = item.items()
    if verb == "wait":
        waited[0] += duration_seconds(str(value))
        app, until = prospect.running.app, utcnow() + timedelta(seconds=waited[0])
        async with UnitOfWork(app.sessions) as uow:
            following = await uow.follow_ups.next_due()
        while following is not None and following <= until:  # as the job would, in time
            queued, following = await deliver(app.sessions, following, ANYTIME)
            if queued:
                app.sender.wake()
                await prospect.running.settle()
    elif verb == "tap":
        for option in value if isinstance(value, list) else [value]:
            option = NURTURE_TAPS.get(str(option), str(option))
            await prospect.tap(option=TAP_WORDS.get(option, option))
        if isinstance(value, list):
            await prospect.tap(option=TAP_WORDS["done"])
    elif verb == "text":
        await prospect.send(str(value))
    elif verb in ("contact", "foreign_contact"):
        await prospect.share_contact(str(value), own=verb == "contact")
    elif verb == "media":
        await prospect.sticker()
    elif verb == "command":
        await prospect.command(f"/{value}")
    elif verb == "language":
        await prospect.command(f"/lang {value}")


def user_for(flow_id: str, seed: int) -> int:
    """A user id from `seed` on; for a variant of an A/B experiment, the first one that the
    experiment assigns to this variant (its link enters the experiment, not the flow)."""
    experiment = SHIPPED[flow_id].flow.experiment
    if experiment is None:
        return seed
    weights = [(e.flow.experiment.variant, e.flow.experiment.weight) for e in SHIPPED.values()
               if e.flow.experiment and e.flow.experiment.name == experiment.name]
    return next(user for user in itertools.count(seed)
                if assign(experiment.name, user, weights) == experiment.variant)


@pytest.mark.parametrize(("flow_id", "scenario", "language"), cases())
async def test_scenario_through_telegram(running, flow_id, scenario, language):
    seed = 600 + abs(hash((flow_id, scenario["name"], language))) % 10**6
    prospect = running.prospect(user_for(flow_id, seed), language)
    await prospect.start(f"{flow_id}__e2e")
    waited = [0.0]
    for item in scenario["do"]:
        await replay(prospect, item, waited)
    expect = scenario.get("expect") or {}
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead).where(
            Lead.user_id == prospect.user_id))).scalar_one_or_none()
    if "outcome" in expect:
        assert lead is not None and lead.outcome == expect["outcome"]
    if "temperature" in expect:
        assert lead.temperature == expect["temperature"]
    assert running.telegram.violations == []
    assert running.app.sender.counters.failed == 0
