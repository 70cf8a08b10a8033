"""`leadbot report --by variant` and the export's variant column, the real command on a
real SQLite file and PostgreSQL holding a hand-built A/B history: experiment `offer` of
flows `offer` (variant a, the experiment kept the flow's id) and `offer-b` (variant b)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from storage.db.engine import sessionmaker
from storage.schema.tables import Conversation, FlowVersion, Handoff, Lead, Prospect
from storage.work.uow import UnitOfWork
from tests.bot.test_report_cli import run
from tests.databases import database_url, fresh_engine
from tests.storage.funnel_history import DEFINITION

DAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD_ARGS = ("--since", "2026-11-02", "--until", "2026-11-02")
FLOWS = {"a": "offer", "b": "offer-b"}


async def build(uow: UnitOfWork, people: dict[str, tuple[int, int, int, int]]) -> None:
    """people: variant -> (started, leads, hot leads, handed off); plus one conversation of
    `offer` from before the experiment (no variant) and one of another flow."""
    session = uow.session
    for flow in (*FLOWS.values(), "other"):
        session.add(FlowVersion(flow_id=flow, version=1, digest=flow,
                                definition={**DEFINITION, "id": flow}, base_dir="."))
    total = sum(p[0] for p in people.values()) + 2
    session.add_all(Prospect(user_id=u, chat_id=u, language="en") for u in range(1, total + 1))
    await session.flush()  # before the conversations that point at them
    user = 0
    conversations: list[tuple[Conversation, int, int, int]] = []
    for name, (started, leads, hot, handoffs) in people.items():
        for i in range(started):
            user += 1
            c = Conversation(user_id=user, chat_id=user, flow_id=FLOWS[name], flow_version=1,
                             step="intro", experiment="offer", variant=name,
                             started_at=DAY + timedelta(seconds=user), updated_at=DAY,
                             progress={"contact": True} if i < leads else {})  # reachable
            session.add(c)
            conversations.append((c, i < leads, i < hot, i < handoffs))
    for flow, experiment in (("offer", None), ("other", None)):
        user += 1
        session.add(Conversation(user_id=user, chat_id=user, flow_id=flow, flow_version=1,
                                 step="intro", experiment=experiment, started_at=DAY,
                                 updated_at=DAY))
    await session.flush()
    for c, lead, hot, handed in conversations:
        if not lead:
            continue
        row = Lead(conversation_id=c.id, user_id=c.user_id, flow_id=c.flow_id, flow_version=1,
                   score=10, temperature="hot" if hot else "warm", target=True,
                   outcome="handoff" if handed else "nurture", created_at=DAY,
                   qualified_at=DAY)
        session.add(row)
        await session.flush()
        if handed:
            session.add(Handoff(lead_id=row.id, conversation_id=c.id, user_id=c.user_id,
                                chat_id=-100, temperature="hot", language="en",
                                submitted_at=DAY, created_at=DAY))
    await session.flush()


async def history(request, tmp_path, people):
    engine = await fresh_engine(request.param, tmp_path)
    async with UnitOfWork(sessionmaker(engine)) as uow:
        await build(uow, people)
        await uow.commit()
    env = {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path),
           "LEADBOT_TIMEZONE": "UTC"}
    return engine, env


@pytest.fixture(params=["sqlite", "postgresql"])
async def small(request, tmp_path):
    engine, env = await history(request, tmp_path, {"a": (3, 1, 1, 0), "b": (3, 2, 1, 1)})
    yield env
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def large(request, tmp_path):
    engine, env = await history(request, tmp_path,
                                {"a": (120, 12, 6, 6), "b": (120, 42, 8, 7)})
    yield env
    await engine.dispose()


def report(env: dict, *extra: str):
    result = run(env, "report", "--flow", "offer", *PERIOD_ARGS, "--by", "variant", *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_few_people_is_not_enough_data(small):
    table = report(small)
    assert "version 1 · variant: a · started: 3" in table
    assert "offer-b version 1 · variant: b · started: 3" in table
    assert "version 1 · variant: — · started: 1" in table  # before the experiment
    assert "A/B comparison (each variant against a" in table
    assert "- b -> lead: 66.7 % (2 of 3) vs a 33.3 % (1 of 3), +33.3 points: not enough " \
           "data to tell this from noise (Fisher's exact test, p = 1" in table
    result = json.loads(report(small, "--format", "json"))
    assert {(g["flow"], g["group"]) for g in result["groups"]} == {
        ("offer", "a"), ("offer-b", "b"), ("offer", "—")}  # not the other flow's
    verdicts = {t["metric"]: t["verdict"] for t in result["comparison"]["tests"]}
    assert verdicts == {"leads": "not_enough_data", "hot": "not_enough_data",
                        "handoffs": "not_enough_data"}


async def test_a_large_difference_is_more_than_noise(large):
    table = report(large)
    assert "b -> lead: 35.0 % (42 of 120) vs a 10.0 % (12 of 120), +25.0 points: more " \
           "than noise (two-proportion z-test, p = " in table
    assert "95 % confidence" in table
    assert "b -> hot lead: 6.7 % (8 of 120) vs a 5.0 % (6 of 120)" in table
    result = json.loads(report(large, "--format", "json"))
    tests = {t["metric"]: t for t in result["comparison"]["tests"]}
    assert tests["leads"]["verdict"] == "significant" and tests["leads"]["p_value"] < 0.001
    assert tests["hot"]["verdict"] == "not_enough_data"
    csv = run(large, "report", "--flow", "offer", *PERIOD_ARGS, "--by", "variant",
              "--format", "csv")
    assert "offer,,b,ab_leads_vs_a_verdict,,significant" in csv.stdout


async def test_a_single_flow_of_the_experiment_and_other_dimensions(large):
    only_b = json.loads(run(large, "report", "--flow", "offer-b", *PERIOD_ARGS,
                            "--format", "json").stdout)
    assert [(g["flow"], g["started"]) for g in only_b["groups"]] == [("offer-b", 120)]
    assert "comparison" not in only_b


async def test_export_has_each_lead_s_variant(large):
    result = run(large, "export", "leads", *PERIOD_ARGS, "--flow", "offer", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {(r["flow"], r["variant"]) for r in rows} == {("offer", "a"), ("offer-b", "b")}
    assert len(rows) == 54
    csv = run(large, "export", "leads", *PERIOD_ARGS, "--format", "csv")
    header = csv.stdout.splitlines()[0].split(",")
    assert "variant" in header
    assert csv.stdout.splitlines()[1].split(",")[header.index("variant")] == "a"
