"""The import rule, checked on every module (lazy imports inside functions too):
bot -> storage -> dialogs, and only the transport talks to a Telegram library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What touches the world: networks, databases, processes, Telegram.
IO = {"aiogram", "telegram", "aiohttp", "httpx", "requests", "urllib3", "socket", "asyncio",
      "subprocess", "sqlalchemy", "sqlmodel", "alembic", "asyncpg", "aiosqlite", "psycopg",
      "psycopg2", "redis", "logging"}
TELEGRAM = {"aiogram", "telegram"}
TRANSPORT = "bot/telegram/"  # the only code that talks to Telegram's library


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a module, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package the file is in
                found.append((node.lineno, path.relative_to(root).parts[0]))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(folder: str, forbidden: set[str], root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}:{line} imports {name}"
            for path in sorted((root / folder).rglob("*.py"))
            for line, name in imports(path, root) if name in forbidden]


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("dialogs", IO | {"storage", "bot"}),
    ("storage", TELEGRAM | {"bot", "aiohttp"}),
])
def test_each_layer_imports_only_what_lies_below_it(folder, forbidden):
    assert violations(folder, forbidden) == []


def outside_the_transport(root: Path = ROOT) -> list[str]:
    """Every import of aiogram in bot/ that is not in the transport."""
    return [found for found in violations("bot", {"aiogram"}, root)
            if not found.startswith(TRANSPORT)]


def test_only_the_transport_imports_aiogram():
    assert outside_the_transport() == []


def test_the_transport_check_sees_a_violation(tmp_path):
    """A lazy import of aiogram outside bot/telegram/ is named; inside it, it is not."""
    (tmp_path / "bot" / "telegram").mkdir(parents=True)
    (tmp_path / "bot" / "cli").mkdir()
    (tmp_path / "bot" / "telegram" / "client.py").write_text(
        "from aiogram import Bot\n", encoding="utf-8")
    (tmp_path / "bot" / "cli" / "probe.py").write_text(
        "def f():\n    from aiogram.exceptions import TelegramAPIError\n", encoding="utf-8")
    assert outside_the_transport(tmp_path) == ["bot/cli/probe.py:2 imports aiogram"]


def test_the_check_sees_a_violation(tmp_path):
    """The rule itself can fail: a lazy import of the database in dialogs/ is named."""
    (tmp_path / "dialogs" / "rules").mkdir(parents=True)
    (tmp_path / "dialogs" / "rules" / "probe.py").write_text(
        "from . import scoring\n\ndef f():\n    import sqlalchemy.orm\n", encoding="utf-8")
    assert violations("dialogs", IO | {"storage"}, tmp_path) == [
        "dialogs/rules/probe.py:4 imports sqlalchemy"]
