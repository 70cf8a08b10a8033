"""deploy/nginx/leadbot.conf, the repository's own file, in front of three real `leadbot run
--webhook` processes on one PostgreSQL database (docs/scaling.md). Only its ports, certificate
and log paths are swapped for the test's (a real nginx, as a child process of the test with a
prefix of its own, over TLS with a throwaway certificate): updates POSTed through it with the
secret are answered at the fake Bot API, also after one process was killed -9 (nginx moves on
to the next); without the secret they are refused; /metrics, /healthz and /readyz are not
reachable through it; the dashboard's sign-in works through it (the Host and the scheme the
proxy passes on); a tracking link's click ids and a CRM's secret path stay out of its access
log.

aiogram only: what is tested is nginx and the processes, not the Telegram library. With
several processes a reply may still go out twice (issue 22): every update answered is
asserted, not counts of messages. Without nginx it is skipped with the reason, except in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import shutil
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import fast_limits, in_ci
from tests.databases import fresh_engine, postgres_url
from tests.e2e.harness import eventually
from tests.processes import LEADBOT, free_port, leadbot_environment

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "leadbot.conf"
NGINX = os.environ.get("LEADBOT_TEST_NGINX", "/usr/sbin/nginx")
SECRET = "nginx-test-secret_0123456789"
ADMIN_TOKEN = "nginx-test-admin-token-0123456789"
WELCOME = "Hello! This is Oak & Stone"
CLICK_ID = "SECRETVALUE0123456789"  # a yclid/gclid: kept out of nginx's access log
CRM_SECRET = "crmsecretpath0123456789"  # /crm/amocrm/<secret>: likewise


def location(config: str, prefix: str) -> str:
    """The text of the file's `location ^~ PREFIX { ... }` block (no nested blocks but
    limit_except's one-liner)."""
    start = config.index(f"location ^~ {prefix} {{")
    return config[start:config.index("\n    }", start)]


def nginx_or_skip() -> str:
    found = NGINX if os.path.exists(NGINX) else shutil.which("nginx")
    if found:
        return found
    if in_ci():
        pytest.fail(f"CI: no nginx at {NGINX} (.ci/run installs Debian's `nginx`)")
    pytest.skip(f"no nginx at {NGINX}: `apt-get install nginx` to run the test of "
                f"deploy/nginx/leadbot.conf (CI always runs it)")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    chain, private = folder / "fullchain.pem", folder / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return chain, private


def swapped(config: str, ports: list[int], listen: int, folder: Path) -> str:
    """The repository's file with the test's ports, certificate and log path: each swap
    checked, so a change of the file that a swap no longer fits fails here, loudly."""
    chain, private = certificate(folder)
    swaps = {f"127.0.0.1:808{n}": f"127.0.0.1:{port}" for n, port in enumerate(ports, 1)}
    swaps.update({
        "listen 443 ssl;": f"listen 127.0.0.1:{listen} ssl;",
        "listen [::]:443 ssl;": "",
        "/etc/letsencrypt/live/bot.example.com/fullchain.pem": str(chain),
        "/etc/letsencrypt/live/bot.example.com/privkey.pem": str(private),
        "/var/log/nginx/leadbot.access.log": str(folder / "access.log"),
    })
    for old, new in swaps.items():
        assert old in config, f"deploy/nginx/leadbot.conf no longer has {old!r}"
        config = config.replace(old, new)
    return config


def main_config(folder: Path) -> str:
    """nginx.conf around the site file, as /etc/nginx/nginx.conf includes conf.d/*.conf; one
    process (no master, no workers switching user), everything under the test's folder."""
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"master_process off;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n{temp}\n    include {folder / 'leadbot.conf'};\n}}\n")


def start_update(user: int) -> dict:
    sender = {"id": user, "is_bot": False, "first_name": "Olena", "language_code": "en"}
    return {"update_id": user, "message": {
        "message_id": 1, "date": 0, "chat": {"id": user, "type": "private"}, "from": sender,
        "text": "/start kitchen-quiz", "entities": [
            {"type": "bot_command", "offset": 0, "length": 6}]}}


@pytest.fixture
async def aiogram_telegram():
    from tests.fakes.telegram import FakeTelegram

    fake = FakeTelegram(limits=fast_limits(), transport="aiogram")
    await fake.start()
    yield fake
    await fake.stop()


@contextlib.asynccontextmanager
async def running(log: Path, *command: str, **options):
    """A child process writing to `log` (a pipe nobody reads could fill and stop it),
    stopped with SIGTERM (killed after 60 s) when the test ends."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(*command, stdout=output,
                                                       stderr=asyncio.subprocess.STDOUT,
                                                       **options)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_three_processes_behind_the_repositorys_nginx_config(aiogram_telegram, tmp_path):
    nginx = nginx_or_skip()
    telegram = aiogram_telegram
    engine = await fresh_engine("postgresql", tmp_path)  # migrated, emptied
    await engine.dispose()
    ports, listen = [free_port() for _ in range(3)], free_port()
    (tmp_path / "leadbot.conf").write_text(
        swapped(CONFIG.read_text(encoding="utf-8"), ports, listen, tmp_path))
    (tmp_path / "nginx.conf").write_text(main_config(tmp_path))
    environment = dict(
        LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=telegram.url,
        LEADBOT_DATABASE_URL=await postgres_url(), LEADBOT_TRANSPORT="aiogram",
        LEADBOT_LOG_LEVEL="WARNING", LEADBOT_TELEGRAM_WEBHOOK_URL="https://bot.example.com",
        LEADBOT_TELEGRAM_WEBHOOK_SECRET=SECRET, LEADBOT_ADMIN_TOKEN=ADMIN_TOKEN,
        LEADBOT_PUBLIC_URL="https://bot.example.com")
    public = f"https://127.0.0.1:{listen}"

    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False)))
        started: list[tuple[str, asyncio.subprocess.Process]] = []

        async def start(name: str, *command: str, **options) -> asyncio.subprocess.Process:
            process = await stack.enter_async_context(
                running(tmp_path / f"{name}.log", *command, **options))
            started.append((name, process))
            return process

        async def bot(port: int) -> asyncio.subprocess.Process:
            return await start(f"leadbot-{port}", LEADBOT, "run", "--webhook",
                               env=leadbot_environment(**environment, LEADBOT_PORT=str(port)))

        async def status(url: str, **headers: str) -> int | None:
            try:
                async with http.get(url, headers=headers) as response:
                    return response.status
            except aiohttp.ClientError:
                return None

        def ready(*urls: str):
            async def answering() -> bool:
                for name, process in started:
                    if process.returncode is not None:  # it stopped: its last words
                        words = (tmp_path / f"{name}.log").read_text(errors="replace")
                        if name == "nginx" and (tmp_path / "error.log").exists():
                            words += (tmp_path / "error.log").read_text()
                        raise AssertionError(f"{name} stopped:\n{words[-3000:]}")
                return all([await status(url) == 200 for url in urls])
            return answering

        # The first process alone, then the other two: processes started together on an
        # empty database still race to record the flows' versions (issue 22, start-up).
        # A start on a loaded 2-core machine can take tens of seconds.
        bots = [await bot(ports[0])]
        await eventually(ready(f"http://127.0.0.1:{ports[0]}/readyz"), timeout=120,
                         what="the first process to be ready")
        bots += [await bot(port) for port in ports[1:]]
        await eventually(ready(*(f"http://127.0.0.1:{port}/readyz" for port in ports[1:])),
                         timeout=120, what="the other two processes to be ready")
        # nginx last: a process it found not yet listening would count as failed for 10 s
        # (fail_timeout), and the test's kill could then leave it none alive
        await start("nginx", nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                    "-e", str(tmp_path / "error.log"))
        await eventually(ready(f"{public}/admin/login"), what="nginx to be up")

        async def post(update: dict, **headers: str) -> int:
            async with http.post(f"{public}/telegram/webhook", json=update,
                                 headers=headers) as response:
                return response.status

        def answered(users: range):
            async def all_of_them() -> bool:
                return all(any(WELCOME in text for text in telegram.texts(user))
                           for user in users)
            return all_of_them

        secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        first = range(1001, 1007)
        assert [await post(start_update(user), **secret) for user in first] == [200] * 6
        await eventually(answered(first), what="every update through nginx to be answered")

        async def handled(port: int) -> float:  # the process's own count, on its own port
            async with http.get(f"http://127.0.0.1:{port}/metrics", headers={
                    "Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
                for line in (await response.text()).splitlines():
                    if line.startswith("leadbot_updates_handled_total "):
                        return float(line.split()[1])
            return 0.0
        counts = [await handled(port) for port in ports]
        assert sum(counts) == 6 and sum(1 for c in counts if c) >= 2, counts  # spread

        bots[0].send_signal(signal.SIGKILL)  # still in both upstreams: refused, skipped
        await bots[0].wait()
        second = range(2001, 2007)
        assert [await post(start_update(user), **secret) for user in second] == [200] * 6
        await eventually(answered(second), what="updates answered with a process killed")

        assert await post(start_update(3001)) == 401  # no secret
        assert await post(start_update(3002), **{
            "X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 401
        for path in ("/metrics", "/healthz", "/readyz", "/"):
            assert await status(public + path) == 404, path
        assert await status(f"{public}/metrics", Authorization=f"Bearer {ADMIN_TOKEN}") == 404
        assert await status(f"{public}/telegram/webhook") == 403  # POST only
        # tracking links and the CRMs' sales back reach the processes (not nginx's 404)
        async with http.get(f"{public}/go/no-such-link", headers={
                "Accept-Language": "uk"}) as response:
            assert response.status == 404 and "Посилання не знайдено" in await response.text()
        async with http.get(f"{public}/b/1.0.1.AAAAAAAAAAAAAAAA", headers={
                "Accept-Language": "uk"}) as response:  # a broadcast's link: no such one
            assert response.status == 404 and "Посилання не знайдено" in await response.text()
        async with http.post(f"{public}/crm/events", data=b"{}") as response:
            assert response.status == 404  # LEADBOT_INBOUND_SECRET unset: the process's 404
            assert "nginx" not in await response.text()
        assert await status(f"{public}/crm/events") == 403  # POST only
        # neither a click's ids nor a CRM's secret path reach nginx's access log: leadbot
        # keeps no address or User-Agent, and clears click ids on /forget (docs/privacy.md)
        async with http.get(f"{public}/go/no-such-link?yclid={CLICK_ID}&gclid={CLICK_ID}",
                            headers={"User-Agent": "Mozilla/5.0 leadbot-test"}) as response:
            assert response.status == 404
        async with http.post(f"{public}/crm/amocrm/{CRM_SECRET}", data=b"{}") as response:
            await response.read()

        # the dashboard's sign-in through nginx: the Origin matches the Host it passes on,
        # and X-Forwarded-Proto: https makes the cookie Secure
        async with http.post(f"{public}/admin/login", data={"token": ADMIN_TOKEN},
                             headers={"Origin": public}, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            assert "secure" in response.headers["Set-Cookie"].lower()
        access = tmp_path / "access.log"  # the swapped path of the file's access_log

        async def logged() -> bool:  # the sign-in, after the /go/ and /crm/ requests
            return access.exists() and "POST /admin/login" in access.read_text()
        await eventually(logged, what="nginx to log the sign-in")
        written = access.read_text()
        assert CLICK_ID not in written and CRM_SECRET not in written, written


def test_a_missing_nginx_fails_in_ci_and_is_skipped_with_its_reason_elsewhere(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "NGINX", "/nonexistent/nginx")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI: no nginx"):
        nginx_or_skip()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install nginx"):
        nginx_or_skip()


@pytest.mark.parametrize("prefix", ["/go/", "/b/", "/crm/"])
def test_click_ids_and_crm_secrets_are_not_logged(prefix):
    """The e2e test above checks the log itself; this one runs without nginx too."""
    assert "access_log off;" in location(CONFIG.read_text(encoding="utf-8"), prefix)


def test_a_click_is_not_retried_on_timeout():
    """A process that timed out may still record the click: retried on the next, it would
    be counted twice. Retried only when nothing was recorded: refused (error), 502, 503."""
    block = location(CONFIG.read_text(encoding="utf-8"), "/go/")
    [retry] = [line.split("#")[0].split()[1:] for line in block.splitlines()
               if line.strip().startswith("proxy_next_upstream ")]
    assert retry == ["error", "http_502", "http_503;"]
