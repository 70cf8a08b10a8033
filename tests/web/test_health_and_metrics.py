"""/healthz, /readyz and /metrics of the bot in polling mode, after real updates through the
fake Bot API."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import StartupError, bootstrap, serve
from tests.conftest import fast_limits
from tests.e2e.conftest import bot_running, settings_for
from tests.e2e.harness import eventually
from tests.e2e.test_handoff import ANNA, GROUP, cards, hot_lead, manager_tap, push
from tests.web.conftest import TOKEN, web_running


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a /metrics answer."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(client, base: str, **headers) -> dict[tuple[str, tuple], float]:
    async with client.get(f"{base}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.headers["Cache-Control"] == "no-store"
        return samples(await response.text())


async def test_health_and_readiness_in_polling_mode(open_web):
    _, client, base = open_web
    async with client.get(f"{base}/healthz") as response:
        assert response.status == 200 and await response.text() == "ok"
    async with client.get(f"{base}/readyz") as response:
        assert response.status == 200 and await response.text() == "ready"
    async with client.get(f"{base}/admin") as response:
        assert response.status == 404  # no LEADBOT_ADMIN_TOKEN: no dashboard


async def test_readiness_fails_when_the_database_cannot_be_reached():
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.web.server import health_routes

    # nothing listens on port 9 (asyncpg: no driver thread outlives the test)
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    app = web.Application()
    health_routes(app, engine)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/readyz")
        assert response.status == 503 and "database" in await response.text()
        assert (await client.get("/healthz")).status == 200  # alive, not ready
    await engine.dispose()


async def test_a_taken_port_stops_a_polling_start_with_a_clear_line(telegram, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    app = await bootstrap(settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", port=port),
                          limits=fast_limits())
    try:
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port} "
                                               r"\(LEADBOT_HOST, LEADBOT_PORT\)"):
            await asyncio.wait_for(serve(app, asyncio.Event()), 60)
    finally:
        await app.close()
        taken.close()


async def test_metrics_count_updates_sends_and_latencies(open_web):
    running, client, base = open_web
    before = await scrape(client, base)
    assert before[("leadbot_updates_handled_total", ())] == 0
    assert before[("leadbot_outbox_depth", (("lane", "chat"), ("purpose", "flow")))] == 0
    prospect = running.prospect(5101, "en")
    first = await prospect.start("kitchen-quiz")
    await prospect.tap(option="~go")
    await prospect.push({"message": prospect.message(text="/start kitchen-quiz")},
                        update_id=first)  # Telegram delivers the first update again
    after = await scrape(client, base)
    assert after[("leadbot_updates_handled_total", ())] == 2
    assert after[("leadbot_updates_duplicate_total", ())] == 1
    sent = after[("leadbot_sends_total", (("result", "sent"),))]
    assert sent == running.app.sender.counters.sent >= 3  # welcome, question, tap answer
    assert after[("leadbot_telegram_429_total", ())] == 0
    assert after[("leadbot_reply_latency_seconds_count", ())] == 2  # one per update
    assert after[("leadbot_handoff_latency_seconds_count", ())] == 0
    assert after[("leadbot_follow_ups_due", ())] == 0
    assert after[("leadbot_database_errors_total", ())] == 0


async def test_metrics_of_a_hand_off_and_its_claim_behind_the_token(telegram, tmp_path):
    async with web_running(telegram, tmp_path, admin_token=TOKEN, managers_chat_id=GROUP,
                           managers_language="en", manager_ids=[ANNA]) as (
            running, client, base):
        async with client.get(f"{base}/metrics") as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        async with client.get(f"{base}/metrics",
                              headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        await hot_lead(running.prospect(5102, "en"))
        data = cards(running)[0].params["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"]
        await push(running, manager_tap(running, ANNA, data))
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        metrics = await scrape(client, base, **bearer)
        assert metrics[("leadbot_handoff_latency_seconds_count", ())] == 1
        assert metrics[("leadbot_time_to_claim_seconds_count", ())] == 1
        again = await scrape(client, base, **bearer)  # a claim is counted once
        assert again[("leadbot_time_to_claim_seconds_count", ())] == 1


async def test_rate_limits_count_as_429s(telegram, tmp_path):
    telegram.fail(429, "Too Many Requests: retry after 1", method="sendMessage",
                  retry_after=1)
    async with web_running(telegram, tmp_path) as (running, client, base):
        await running.prospect(5103, "en").start("kitchen-quiz")

        async def counted() -> bool:
            return running.app.sender.counters.rate_limited >= 1

        await eventually(counted, what="a 429")
        metrics = await scrape(client, base)
        assert metrics[("leadbot_telegram_429_total", ())] >= 1
        assert metrics[("leadbot_sends_total", (("result", "rate_limited"),))] >= 1


async def test_database_errors_are_counted(telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db") as running:
        from sqlalchemy import text

        with pytest.raises(Exception, match="no such table"):
            async with running.app.engine.connect() as connection:
                await connection.execute(text("SELECT * FROM no_such_table"))
        counted = samples((await running.app.metrics.render(running.app.sessions)).decode())
        assert counted[("leadbot_database_errors_total", ())] == 1


async def test_webhook_mode_serves_the_same_pages_beside_the_webhook(telegram, tmp_path):
    import aiohttp

    from bot.transport.webhook import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
    from tests.e2e.test_webhook import start_update

    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", admin_token=TOKEN,
                            telegram_webhook_url="https://bot.example")
    app = await bootstrap(settings, limits=fast_limits())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, webhook=True))
    try:
        async def registered() -> bool:
            return bool(telegram.webhook) and app.address is not None

        await eventually(registered, what="the webhook to be registered")
        base = f"http://127.0.0.1:{app.address[1]}"
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/readyz") as response:
                assert response.status == 200
            async with client.post(f"{base}{WEBHOOK_PATH}", json={"update_id": 1},
                                   headers={SECRET_HEADER: "wrong"}) as response:
                assert response.status == 401
            async with client.post(f"{base}{WEBHOOK_PATH}", json=start_update(2),
                                   headers={SECRET_HEADER: webhook_secret(settings)}) as r:
                assert r.status == 200  # after the commit
            async with client.get(f"{base}/metrics",
                                  headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                assert response.status == 200
                assert "leadbot_updates_handled_total 1.0" in await response.text()
            async with client.get(f"{base}/admin") as response:
                assert response.status == 401
    finally:
        stop.set()
        await task
        await app.close()
