"""The documentation a newcomer holds: a short README whose first screen has the two
commands and whose links stay inside the clone, and a site whose reference is generated
from the code (tools/docs_hooks.py; `make test` builds it with `mkdocs build --strict`)."""

from __future__ import annotations

import argparse
import re

from bot.cli.main import build_parser
from tests.docs import DOCS, ROOT, hooks

README = ROOT / "README.md"
FIRST_SCREEN = 40  # lines: what a newcomer sees before scrolling
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)\)")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def commands_in(markdown: str) -> list[str]:
    """The commands of the fenced code blocks: lines without their comments."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        command = line.split("  #")[0].strip()
        if fenced and command and not command.startswith("#"):
            found.append(command)
    return found


def test_the_readme_is_short():
    assert len(readme().splitlines()) <= 200


def test_the_first_screen_has_exactly_the_two_commands():
    first = "\n".join(readme().splitlines()[:FIRST_SCREEN])
    commands = commands_in(first)
    assert len(commands) == 2, commands
    run, test = commands
    assert re.fullmatch(r"LEADBOT_BOT_TOKEN=\S+ make run", run)
    assert test == "make test"
    assert first.count("```") == 2  # one block, closed on the first screen


def test_the_two_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run: ", makefile, re.MULTILINE)
    assert re.search(r"^test: ", makefile, re.MULTILINE)


def test_make_test_builds_the_site_strictly():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    build = [line for line in recipe.splitlines() if re.search(r"mkdocs\)? build", line, re.I)]
    assert len(build) == 1 and "--strict" in build[0]
    # mkdocs' --quiet drops the warnings --strict counts: a broken link would pass
    assert "--quiet" not in build[0] and " -q" not in build[0]
    assert recipe.index("ruff") < recipe.index(build[0]) < recipe.index("pytest")


def test_every_relative_link_of_the_readme_is_a_file_in_the_clone():
    targets = LINK.findall(readme())
    assert "docs/dashboard.png" in targets  # the picture
    broken = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        path = (ROOT / target.split("#")[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.is_file():
            broken.append(target)
    assert broken == []


def test_the_readme_links_to_every_page_of_the_site():
    linked = {target.split("#")[0] for target in LINK.findall(readme())}
    pages = {f"docs/{p.relative_to(DOCS).as_posix()}" for p in DOCS.rglob("*.md")}
    included = {f"docs/{page}" for page in hooks().included(DOCS).values()}
    assert pages - included - linked == set()


# -- the commands reference ------------------------------------------------------------------
def test_the_reference_has_every_command_and_every_argument():
    module = hooks()
    found = module.commands(build_parser())
    names = [name for name, _, _ in found]
    assert {"run", "links", "lint", "simulate", "db upgrade", "db new-key", "db rotate-key",
            "crm test", "graph", "report", "export leads"} <= set(names)
    for name, parser, summary in found:
        section = module.command_section(name, parser, summary)
        assert section.startswith(f"### `leadbot {name}`")
        assert f"usage: leadbot {name}" in section
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            written = action.option_strings[0] if action.option_strings else (
                action.metavar or action.dest)
            assert written in section, (name, written)


def test_the_commands_page_names_only_commands_that_exist():
    names = {name for name, _, _ in hooks().commands(build_parser())}
    page = (DOCS / "commands.md").read_text(encoding="utf-8")
    placed = re.findall(r"<!-- leadbot:command (.+?) -->", page)
    assert set(placed) <= names
    assert "<!-- leadbot:commands -->" in page  # a new command shows up without a marker


def test_a_new_command_shows_up_unplaced():
    parser = argparse.ArgumentParser(prog="leadbot")
    commands = parser.add_subparsers()
    commands.add_parser("old", help="an old one")
    new = commands.add_parser("new", help="a new one: `leadbot new` <soon>")
    new.add_argument("--every", metavar="N", type=int, default=3, help="each N|th")
    module = hooks()
    found = module.commands(parser)
    assert [name for name, _, _ in found] == ["old", "new"]
    section = module.command_section(*found[1])
    assert "A new one: `leadbot new` &lt;soon&gt;." in section
    assert "| `--every N` | each N\\|th (default: `3`) |" in section


# -- files of the repository as pages --------------------------------------------------------
def test_links_of_an_included_file_are_rewritten_for_the_site():
    text = ("See [the tour](docs/flows.md#steps) and [CONTRIBUTING.md](CONTRIBUTING.md),\n"
            "the [bench\nfolder](bench/engine.py), ![x](docs/dashboard.png), [t](https://t.me)"
            " and `[a](b.md)`.\n```\n[kept](docs/flows.md)\n```\n")
    out = hooks().rewrite_links(text, "README.md", "index.md",
                                pages={"CONTRIBUTING.md": "contributing.md"})
    assert out == ("See [the tour](flows.md#steps) and [CONTRIBUTING.md](contributing.md),\n"
                   "the bench\nfolder (`bench/engine.py`), ![x](dashboard.png), "
                   "[t](https://t.me) and `[a](b.md)`.\n```\n[kept](docs/flows.md)\n```\n")


def test_the_site_includes_the_readme_and_contributing():
    assert hooks().included(DOCS) == {"README.md": "index.md",
                                      "CONTRIBUTING.md": "contributing.md"}
