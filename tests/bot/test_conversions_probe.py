"""`leadbot conversions test` (and `ad_targets_from`, which it and the bot build the ad
platforms' targets with): one line per configured platform with what it answered, exit 1
if any failed, 2 with one line when none is set or the file is broken; never a traceback.

The probes themselves are the targets' (bot/deliveries/ads/): here the real command runs
them against HTTP servers on 127.0.0.1, one answering as a platform that takes the sample,
one failing. Where a target's module does not exist yet, the test of the command's own
lines runs on stand-ins."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import types
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.conversions import run_conversions_test
from bot.deliveries.port import Permanent
from bot.deliveries.targets import CrmConfigError, ad_targets_from
from bot.settings import Settings
from tests.bot.test_cli import LEADBOT, leadbot, no_traceback

MODULES = {"metrica": ("bot.deliveries.ads.metrica", "MetricaTarget"),
           "meta": ("bot.deliveries.ads.meta", "MetaTarget"),
           "ga4": ("bot.deliveries.ads.ga4", "Ga4Target")}
SECRETS = {"LEADBOT_METRICA_TOKEN": "metrica-token", "LEADBOT_META_TOKEN": "meta-token",
           "LEADBOT_GA4_API_SECRET": "ga4-secret"}


def conversions_file(folder: Path, metrica: str, meta: str, ga4: str) -> Path:
    """All three platforms, each at its `api_url`."""
    path = folder / "conversions.yaml"
    path.write_text(f"""\
metrica:
  counter: 12345678
  goals: {{hot: leadbot_hot}}
  api_url: {metrica}
meta:
  pixel: "1234567890"
  test_event_code: TEST12345
  goals: {{lead: Lead}}
  api_url: {meta}
ga4:
  measurement_id: G-TEST1234
  goals: {{hot: qualify_lead}}
  api_url: {ga4}
""", encoding="utf-8")
    return path


# -- the settings ----------------------------------------------------------------------------
def test_nothing_set_or_a_broken_file_is_one_line_and_exit_2(tmp_path):
    result = leadbot("conversions", "test")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("leadbot conversions test: no ad platform is set "
                             "(LEADBOT_CONVERSIONS_FILE names them)\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("meta:\n  pixel: abc\n  goals: {lead: Lead}\n", encoding="utf-8")
    result = leadbot("conversions", "test", env={"LEADBOT_CONVERSIONS_FILE": str(broken)})
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert f"LEADBOT_CONVERSIONS_FILE {broken}: meta.pixel" in result.stderr
    result = leadbot("conversions", "test",
                     env={"LEADBOT_CONVERSIONS_FILE": str(tmp_path / "missing.yaml")})
    assert result.returncode == 2 and "No such file" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize("missing", list(SECRETS))
def test_a_platform_without_its_secret_names_the_setting(tmp_path, missing):
    path = conversions_file(tmp_path, *["http://127.0.0.1:9"] * 3)
    env = {"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS}
    del env[missing]
    result = leadbot("conversions", "test", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    name = {"LEADBOT_METRICA_TOKEN": "metrica", "LEADBOT_META_TOKEN": "meta",
            "LEADBOT_GA4_API_SECRET": "ga4"}[missing]
    assert result.stderr == (f"leadbot conversions test: LEADBOT_CONVERSIONS_FILE {path} "
                             f"names {name}, but {missing} is not set\n")
    assert result.stdout == ""  # nothing was asked of any platform
    with pytest.raises(CrmConfigError, match=missing):
        ad_targets_from(Settings(_env_file=None, conversions_file=path,
                                 **{k.removeprefix("LEADBOT_").lower(): v
                                    for k, v in env.items() if k in SECRETS}))


def test_no_file_no_targets():
    assert ad_targets_from(Settings(_env_file=None)) == []


# -- the real targets' probes ----------------------------------------------------------------
@pytest.fixture
async def servers():
    """Two servers on 127.0.0.1: `ok` answers any request as a platform taking a test
    sample (Meta's events_received, GA4's validation with no message, Metrica's counter, its
    goals and an empty upload list); `down` answers 503 to everything."""
    answer = {"events_received": 1, "messages": [], "fbtrace_id": "TRACE",
              "validationMessages": [], "uploadings": [],
              "counter": {"id": 12345678, "name": "test"},
              "goals": [{"id": 1, "type": "action", "name": "Hot lead (bot)",
                         "conditions": [{"type": "exact", "url": "leadbot_hot"}]}]}
    seen: list[str] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(answer)

    async def down(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"error": "unavailable"}, status=503)

    runners, urls = [], []
    for handler in (ok, down):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
    yield {"ok": urls[0], "down": urls[1], "seen": seen}
    for runner in runners:
        await runner.cleanup()


async def leadbot_async(env: dict) -> tuple[int, str, str]:
    """The real command, without blocking the loop the servers answer on."""
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        LEADBOT, "conversions", "test", env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_each_platform_answers_in_a_line(tmp_path, servers):
    for module, _ in MODULES.values():
        pytest.importorskip(module)
    ok, down = servers["ok"], servers["down"]
    path = conversions_file(tmp_path, ok, ok, ok)
    code, out, err = await leadbot_async({"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS})
    lines = out.splitlines()
    assert code == 0, out + err
    assert [line.split(":")[0] for line in lines] == ["metrica", "meta", "ga4"]
    assert all(": ok — " in line for line in lines), lines
    path = conversions_file(tmp_path, ok, ok, down)
    code, out, err = await leadbot_async({"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS})
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].startswith("metrica: ok — ") and lines[1].startswith("meta: ok — ")
    assert lines[2].startswith("ga4: failed — ")
    assert "Traceback" not in out + err
    for secret in SECRETS.values():
        assert secret not in out + err


# -- the command's lines, on stand-ins where a target is not written yet ---------------------
class StandIn:
    """A target's constructor and probe (design.md): `probe` answers by the config's
    `api_url` host: ok, refused, or a bug of ours."""

    batch, window, max_age, repeat = 1, 0.0, None, "dedupe"

    def __init__(self, config, secret, limits) -> None:
        self.config, self.secret = config, secret
        self.goals, self.events = config.goals, frozenset(config.goals)

    async def probe(self) -> str:
        host = self.config.api_url.split("//")[1]
        if host == "refused":
            raise Permanent("HTTP 400")
        if host == "bug":
            raise RuntimeError(f"https://{self.secret}@example")  # never printed
        return f"HTTP 200, {self.name} took the sample"

    async def close(self) -> None:
        pass


WANTED = {"metrica": ("http://good", "metrica: ok — HTTP 200, metrica took the sample"),
          "meta": ("http://refused", "meta: failed — HTTP 400"),
          "ga4": ("http://bug", "ga4: failed — unexpected RuntimeError")}


def stand_ins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in module for each target not written yet on this branch; their names."""
    missing = [n for n, (module, _) in MODULES.items()
               if importlib.util.find_spec(module) is None]
    for name in missing:
        module, cls = MODULES[name]
        stand_in = types.ModuleType(module)
        setattr(stand_in, cls, type(cls, (StandIn,), {"name": name}))
        monkeypatch.setitem(sys.modules, module, stand_in)
    return missing


def test_the_commands_lines_and_exit(tmp_path, monkeypatch, capsys):
    """A real target, where one exists, is pointed at a closed port: it fails."""
    missing = stand_ins(monkeypatch)
    if not missing:
        pytest.skip("every target is written: test_each_platform_answers_in_a_line runs "
                    "the real ones")
    urls = {n: WANTED[n][0] if n in missing else "http://127.0.0.1:9" for n in MODULES}
    path = conversions_file(tmp_path, urls["metrica"], urls["meta"], urls["ga4"])
    settings = Settings(_env_file=None, conversions_file=path,
                        **{k.removeprefix("LEADBOT_").lower(): v for k, v in SECRETS.items()})
    assert [t.name for t in ad_targets_from(settings)] == ["metrica", "meta", "ga4"]
    assert run_conversions_test(None, settings) == 1
    lines = capsys.readouterr().out.splitlines()
    for name, line in zip(MODULES, lines, strict=True):
        assert line == WANTED[name][1] if name in missing else line.startswith(
            f"{name}: failed — ")
    assert not any(secret in line for line in lines for secret in SECRETS.values())
    if len(missing) == len(MODULES):
        path.write_text(path.read_text().replace("http://refused", "http://good")
                        .replace("http://bug", "http://good"))
        assert run_conversions_test(None, settings) == 0
        assert capsys.readouterr().out.count(": ok — ") == 3
