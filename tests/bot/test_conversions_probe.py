"""`leadbot conversions test` (and `ad_targets_from`, which it and the bot build the ad
platforms' targets with): one line per configured platform with what it answered, exit 1
if any failed, 2 with one line when none is set or the file is broken; never a traceback.

The probes themselves are the targets' (bot/deliveries/ads/): here the real command runs
them against the fake Metrica, Meta and GA4 servers (tests/fakes/), working and failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.deliveries.targets import CrmConfigError, ad_targets_from
from bot.settings import Settings
from tests.bot.test_cli import LEADBOT, leadbot, no_traceback
from tests.fakes.ga4 import FakeGa4
from tests.fakes.meta import FakeMeta
from tests.fakes.metrica import FakeMetrica

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
async def platforms():
    """Fake Metrica (the file's goal made on the counter), Meta and GA4 on 127.0.0.1, each
    checking what its platform requires, with this file's ids and secrets."""
    found = (FakeMetrica(token=SECRETS["LEADBOT_METRICA_TOKEN"], counter=12345678),
             FakeMeta(pixel="1234567890", token=SECRETS["LEADBOT_META_TOKEN"]),
             FakeGa4(measurement_id="G-TEST1234", api_secret=SECRETS["LEADBOT_GA4_API_SECRET"]))
    for fake in found:
        await fake.start()
    found[0].goal("leadbot_hot")
    yield found
    for fake in found:
        await fake.stop()


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


async def test_each_platform_answers_in_a_line_and_nothing_counts(tmp_path, platforms):
    metrica, meta, ga4 = platforms
    path = conversions_file(tmp_path, metrica.api_url, meta.api_url, ga4.url)
    code, out, err = await leadbot_async({"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS})
    lines = out.splitlines()
    assert code == 0, out + err
    assert [line.split(":")[0] for line in lines] == ["metrica", "meta", "ga4"]
    assert all(": ok — " in line for line in lines), lines
    # test modes only: Meta's test events, GA4's validation server, Metrica read, not
    # uploaded to
    assert [code for code, _ in meta.tests] == ["TEST12345"] and meta.received == []
    assert len(ga4.validated) == 1 and ga4.received == [] and ga4.dropped == []
    assert metrica.uploads == {} and metrica.files == []
    ga4.fail(503, times=10)  # GA4 down: its line says so, the others still answer
    code, out, err = await leadbot_async({"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS})
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].startswith("metrica: ok — ") and lines[1].startswith("meta: ok — ")
    assert lines[2].startswith("ga4: failed — ")
    assert "Traceback" not in out + err
    for secret in SECRETS.values():
        assert secret not in out + err


async def test_a_goal_missing_on_the_counter_and_a_closed_port_fail_in_a_line(
        tmp_path, platforms):
    metrica, _, ga4 = platforms
    metrica.goals.clear()  # the goal was never made in Metrica
    path = conversions_file(tmp_path, metrica.api_url, "http://127.0.0.1:9", ga4.url)
    code, out, err = await leadbot_async({"LEADBOT_CONVERSIONS_FILE": str(path), **SECRETS})
    lines = out.splitlines()
    assert code == 1, out + err
    assert lines[0].startswith("metrica: failed — ") and "leadbot_hot" in lines[0]
    assert lines[1].startswith("meta: failed — ") and lines[2].startswith("ga4: ok — ")
    assert "Traceback" not in out + err
