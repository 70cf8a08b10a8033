"""`leadbot links add|remove|list|qr` as the operator runs them (the real command on a real
database, SQLite and PostgreSQL), their bad arguments (one line, exit 2, never a
traceback), and LEADBOT_LINKS_FILE at `leadbot run`: a broken file stops the start in one
line naming the field, before a database is made."""

from __future__ import annotations

import pytest

from bot.links import LinkError, checked
from tests.bot.test_cli import leadbot, no_traceback
from tests.databases import database_url, fresh_engine

PUBLIC = {"LEADBOT_PUBLIC_URL": "https://bot.example.com/"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def env(request, tmp_path):
    engine = await fresh_engine(request.param, tmp_path)  # migrated and empty
    await engine.dispose()
    return {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path)}


def refused(result, words: str) -> None:
    """Exit 2, the usage and one line of error that says `words`; no traceback."""
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "error:" in last and words in last, result.stderr


async def test_add_list_qr_remove(env, tmp_path):
    made = leadbot("links", "add", "vk_autumn", "--flow", "kitchen-quiz", "--source", "vk",
                   "--campaign", "autumn_sale", env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("vk_autumn: /go/vk_autumn -> kitchen-quiz, source vk, "
                                  "campaign autumn_sale")
    # an experiment's name is a flow a link may start
    assert leadbot("links", "add", "calc", "--flow", "renovation-calculator", "--source",
                   "tg", env=env).returncode == 0
    listed = leadbot("links", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["link", "flow", "source", "campaign", "clicks",
                                "conversations", "url"]
    assert lines[3].split() == ["vk_autumn", "kitchen-quiz", "vk", "autumn_sale", "0", "0",
                                "/go/vk_autumn"]
    assert lines[-1] == "set LEADBOT_PUBLIC_URL (e.g. https://bot.example.com) for the full URLs"
    full = leadbot("links", "list", env={**env, **PUBLIC})
    assert "https://bot.example.com/go/vk_autumn" in full.stdout
    assert "LEADBOT_PUBLIC_URL" not in full.stdout

    png = tmp_path / "vk.png"
    drawn = leadbot("links", "qr", "vk_autumn", "--output", str(png), env={**env, **PUBLIC})
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = tmp_path / "vk.svg"
    assert leadbot("links", "qr", "vk_autumn", "--format", "svg", "--output", str(svg),
                   env={**env, **PUBLIC}).returncode == 0
    assert "<svg" in svg.read_text()

    gone = leadbot("links", "remove", "vk_autumn", env=env)
    assert gone.returncode == 0 and "removed vk_autumn" in gone.stdout
    assert "vk_autumn" not in leadbot("links", "list", env=env).stdout


async def test_bad_arguments_are_one_line(tmp_path):
    """On SQLite alone: the arguments are checked the same whatever the database (each
    line is a `leadbot` process; both databases' storage is covered above)."""
    engine = await fresh_engine("sqlite", tmp_path)
    await engine.dispose()
    env = {"LEADBOT_DATABASE_URL": await database_url("sqlite", tmp_path)}

    def add(*args: str):
        return leadbot("links", "add", *args, env=env)

    refused(add("x", "--flow", "nope", "--source", "vk"), "flow 'nope': no such flow")
    refused(add("bad name", "--flow", "kitchen-quiz", "--source", "vk"), "name 'bad name'")
    refused(add("x" * 33, "--flow", "kitchen-quiz", "--source", "vk"), "1 to 32 characters")
    refused(add("x", "--flow", "kitchen-quiz", "--source", "v k"), "source 'v k'")
    refused(add("x", "--flow", "kitchen-quiz", "--source", "vk", "--campaign", "c" * 65),
            "campaign")
    refused(add("x", "--flow", "kitchen-quiz"), "--source")  # argparse's: required
    assert add("x", "--flow", "kitchen-quiz", "--source", "vk").returncode == 0
    refused(add("x", "--flow", "kitchen-quiz", "--source", "ok"), "exists already")
    refused(leadbot("links", "remove", "nope", env=env), "no link 'nope'")
    refused(leadbot("links", "qr", "x", env=env), "set LEADBOT_PUBLIC_URL")
    refused(leadbot("links", "qr", "nope", env={**env, **PUBLIC}), "no link 'nope'")
    refused(leadbot("links", "qr", "x", "--format", "gif", env={**env, **PUBLIC}),
            "invalid choice: 'gif'")
    refused(leadbot("links", "qr", "x", "--format", "png", "--output",
                    str(tmp_path / "x.svg"), env={**env, **PUBLIC}), "does not end in .png")
    refused(leadbot("links", "qr", "x", "--output", str(tmp_path / "q.txt"),
                    env={**env, **PUBLIC}), "q.txt: write .png or .svg")
    bad_url = leadbot("links", "list", env={**env, "LEADBOT_PUBLIC_URL": "bot.example.com"})
    assert bad_url.returncode == 2 and bad_url.stderr.strip() == (
        "leadbot: bad setting LEADBOT_PUBLIC_URL: 'bot.example.com' is not a web address "
        "like https://bot.example.com")


@pytest.mark.parametrize(("name", "source"), [("nl\n", "vk"), ("ok", "vk\n")])
def test_a_trailing_newline_is_not_a_valid_link_name_or_source(name, source):
    """`^...$` lets a final newline through: `leadbot links add 'nl<newline>'` stored a link
    named "nl\\n", and a source "vk\\n" went into clicks, conversations and the deep link."""
    with pytest.raises(LinkError):
        checked(name, "kitchen-quiz", source, None, {"kitchen-quiz"})


@pytest.mark.parametrize(("campaign", "stored"), [
    ("  padded  ", "padded"), ("autumn sale", "autumn sale"), ("\tx\n", "x")])
def test_a_campaigns_surrounding_spaces_go(campaign, stored):
    """The spend import strips its cells: a link's `  padded  ` made a second campaign
    group in the report beside the spend's `padded`."""
    assert checked("ok", "kitchen-quiz", "vk", campaign, {"kitchen-quiz"}).campaign == stored


@pytest.mark.parametrize("campaign", ["", "   ", "a\u202eb", "a\nb", "c" * 65])
def test_an_empty_or_unprintable_campaign_is_refused(campaign):
    with pytest.raises(LinkError, match="campaign"):
        checked("ok", "kitchen-quiz", "vk", campaign, {"kitchen-quiz"})


async def test_the_command_refuses_a_newline_and_strips_the_campaign(env):
    def add(*args: str):
        return leadbot("links", "add", *args, env=env)

    refused(add("nl\n", "--flow", "kitchen-quiz", "--source", "vk"), "name 'nl\\n'")
    refused(add("x", "--flow", "kitchen-quiz", "--source", "vk\n"), "source 'vk\\n'")
    made = add("x", "--flow", "kitchen-quiz", "--source", "vk", "--campaign", "  padded  ")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("x: /go/x -> kitchen-quiz, source vk, campaign padded\n")
    assert leadbot("links", "list", env=env).stdout.splitlines()[2].split()[:4] == [
        "x", "kitchen-quiz", "vk", "padded"]


def test_no_database_is_one_line(tmp_path):
    result = leadbot("links", "list", env={
        "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"})
    no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.startswith("leadbot links: cannot open the database")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(("text", "words"), [
    ("links: {vk: {flow: nope, source: vk}}\n", "links.vk: flow 'nope': no such flow"),
    ("links: {vk: {flow: kitchen-quiz}}\n", "links.vk: source: needed, as text"),
    ("links: {vk: {flow: kitchen-quiz, source: vk, medium: x}}\n",
     "links.vk: medium: unknown field"),
    ("links: {'a b': {flow: kitchen-quiz, source: vk}}\n", "name 'a b'"),
    ("links: {vk: {flow: kitchen-quiz, source: 'v k'}}\n", "links.vk: source 'v k'"),
    ('links: {vk: {flow: kitchen-quiz, source: "vk\\n"}}\n', "links.vk: source 'vk\\n'"),
    ('links: {"vk\\n": {flow: kitchen-quiz, source: vk}}\n', "name 'vk\\n'"),
    ("links: [vk]\n", "links: a mapping"),
    ("vk: {flow: kitchen-quiz}\n", "the top level must be `links:`"),
    ("links: {vk: [\n", "not YAML"),
    ("links:\n  vk: {flow: kitchen-quiz, source: a}\n  vk: {flow: kitchen-quiz, source: b}\n",
     "'vk' is written twice"),
])
def test_a_broken_links_file_stops_the_start_naming_the_field(tmp_path, text, words):
    links = tmp_path / "links.yaml"
    links.write_text(text, encoding="utf-8")
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                                 "LEADBOT_LINKS_FILE": str(links),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    no_traceback(result)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"LEADBOT_LINKS_FILE {links}" in line and words in line, line
    assert not (tmp_path / "bot.db").exists()
