"""How fast `GET /go/<link>` answers with many clicks stored. Prints figures; asserts nothing.

    .venv/bin/python bench/go.py [--clicks N] [--requests R] [--only sqlite|postgresql]

N clicks (default 100,000) are stored first; then R requests (default 2,000, after 200 to
warm up), one after another, each a visitor with UTM parameters and a click id, go to the
real handler (bot/web/go.py) behind the real middleware on an aiohttp server on 127.0.0.1,
through a keep-alive HTTP client: each records a click (the per-process cap is lifted here:
the figure is the recording path's; over the cap a request only reads the link) and answers
302. Printed: p50 and p99 of the whole round trip. SQLite: a file in a temporary folder;
PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/
leadbot_bench_go, made anew), skipped when it cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.web.go import Bucket, Go  # noqa: E402
from bot.web.security import security_headers  # noqa: E402
from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402
from storage.schema.money import Click, TrackingLink  # noqa: E402
from storage.schema.tables import utcnow  # noqa: E402
from storage.work.tracking import new_token  # noqa: E402

POSTGRES = os.environ.get("LEADBOT_BENCH_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/leadbot_bench_go")
TARGET_P99_MS = 20.0
QUERY = ("?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn_sale&utm_content=banner_3"
         "&utm_term=kitchen+to+order&yclid=7419385612345678901")


async def fresh_postgres() -> str | None:
    import asyncpg

    try:
        admin = await asyncpg.connect(POSTGRES.rsplit("/", 1)[0] + "/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        print(f"postgresql: skipped ({type(error).__name__}: {error})")
        return None
    name = POSTGRES.rsplit("/", 1)[1]
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return POSTGRES


async def filled(url: str, clicks: int):
    """A migrated database with one link and `clicks` clicks of it."""
    engine = create_engine(url)
    await upgrade(engine)
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(insert(TrackingLink), [dict(
            name="vk_autumn", flow_id="kitchen-quiz", source="vk", campaign="autumn_sale",
            declared=False, created_at=now)])
        for first in range(0, clicks, 10_000):
            await connection.execute(insert(Click), [dict(
                token=new_token(), link="vk_autumn", flow_id="kitchen-quiz", source="vk",
                campaign="autumn_sale", utm={"utm_source": "vk", "utm_medium": "cpc"},
                yclid=str(7_000_000_000 + i), gclid=None, fbclid=None, ym_uid=None,
                created_at=now) for i in range(first, min(first + 10_000, clicks))])
    return engine


async def measure(url: str, clicks: int, requests: int) -> tuple[float, float]:
    engine = await filled(url, clicks)
    app = web.Application(middlewares=[security_headers])
    Go(sessions := sessionmaker(engine), lambda: "bench_bot",
       Bucket(rate=1e9)).routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target = f"http://127.0.0.1:{port}/go/vk_autumn{QUERY}"
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
    took = []
    try:
        async with aiohttp.ClientSession() as client:
            for index in range(200 + requests):
                started = time.perf_counter()
                async with client.get(target, allow_redirects=False,
                                      headers=headers) as response:
                    assert response.status == 302, response.status
                if index >= 200:
                    took.append((time.perf_counter() - started) * 1000)
    finally:
        await runner.cleanup()
        del sessions
        await engine.dispose()
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.99) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    urls = []
    if args.only != "postgresql":
        urls.append(("sqlite", f"sqlite:///{tempfile.mkdtemp()}/go.db"))
    if args.only != "sqlite" and (postgres := await fresh_postgres()):
        urls.append(("postgresql", postgres))
    print(f"GET /go/<link>: {args.requests} clicks recorded one after another, "
          f"{args.clicks:,} stored before; target p99 <= {TARGET_P99_MS:g} ms")
    for name, url in urls:
        p50, p99 = await measure(url, args.clicks, args.requests)
        verdict = "ok" if p99 <= TARGET_P99_MS else "OVER TARGET"
        print(f"{name:>10}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({verdict})")


if __name__ == "__main__":
    asyncio.run(main())
