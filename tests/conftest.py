from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

from dialogs.format.loader import load_flows
from dialogs.format.schema import Flow

FLOWS_DIR = Path(__file__).resolve().parent.parent / "dialogs" / "flows"


def in_ci() -> bool:
    """CI=true (CI services set it; .ci/run too): what a developer's machine may skip with a
    reason (no PostgreSQL, no Chromium) fails the run there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # unix sockets


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that reaches for a real host fails (like PTB's OfflineRequest)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session", autouse=True)
def port_8080_taken():
    """The web server's default port is held for the whole run, so a test that starts a
    server without a port of its own (tests/processes.py gives one) fails on every machine,
    not only where something else happens to listen on 8080. Left alone when it is taken."""
    holder = socket.socket()
    try:
        holder.bind(("0.0.0.0", 8080))
        holder.listen()
    except OSError:
        pass
    yield
    holder.close()


@pytest.fixture(autouse=True)
def forgotten_names():
    """The log filter's remembered names are the process's: each test starts with none,
    so one test's prospects cannot change what another's log lines say."""
    from bot import logsafe

    logsafe.FILTER.forget()
    yield
    logsafe.FILTER.forget()


@pytest.fixture(scope="session")
def shipped() -> dict[str, Flow]:
    return {flow_id: loaded.flow for flow_id, loaded in load_flows([FLOWS_DIR]).items()}


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request, tmp_path):
    """The same suite on both backends (aiogram's test_storages.py idea)."""
    from tests.databases import fresh_engine

    engine = await fresh_engine(request.param, tmp_path)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine):
    from storage.db.engine import sessionmaker

    return sessionmaker(engine)


FAST = None


def fast_limits():
    """Telegram's limits sped up 20x: same shapes, tests that take seconds, not minutes."""
    from bot.outbox.limits import Limits

    return Limits().scaled(20)


@pytest.fixture
async def telegram():
    from tests.fakes.telegram import FakeTelegram

    fake = FakeTelegram(limits=fast_limits())
    await fake.start()
    yield fake
    await fake.stop()


def stamped_session(url: str):
    """An aiogram session whose requests carry the moment the bot sent them, for the fake to
    tell a request sent after a 429 from one already on its way, and to judge the rate by
    when the bot sent (however late a loaded machine delivers it)."""
    import time

    from aiogram.client.telegram import TelegramAPIServer

    from bot.telegram.session import JsonSession
    from tests.fakes.telegram import SENT_AT

    class StampedSession(JsonSession):  # the bot's own session (bot/telegram/client.py)
        def build_json(self, bot, method):
            body = super().build_json(bot, method)
            if body is not None:
                body[SENT_AT] = time.monotonic()
            return body

        def build_form_data(self, bot, method):
            form = super().build_form_data(bot, method)
            form.add_field(SENT_AT, repr(time.monotonic()))
            return form

    return StampedSession(api=TelegramAPIServer.from_base(url))


@pytest.fixture
async def bot(telegram):
    from aiogram import Bot

    session = stamped_session(telegram.url)
    real_bot = Bot(telegram.token, session=session)
    yield real_bot
    await session.close()
