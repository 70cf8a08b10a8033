"""The import rule, checked on every module (lazy imports inside functions too):
bot -> storage -> dialogs, and only a transport talks to a Telegram library: bot/telegram/
to aiogram, bot/ptb/ to python-telegram-bot (whose top-level package is `telegram`: not our
`bot.telegram`, which is absolute `bot` here), neither to the other. Inside storage/, its
rooms in order (schema <- db <- work <- deliveries <- privacy, record.py on top, reports/
imported by none of them); inside dialogs/, no import circle."""

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
TRANSPORT = "bot/telegram/"  # the only code that talks to aiogram
PTB = "bot/ptb/"  # the only code that talks to python-telegram-bot (package `telegram`)


def imports(path: Path, root: Path, depth: int = 1) -> list[tuple[int, str]]:
    """(line, package) of every import in a module, relative ones resolved: its first
    `depth` dotted names (2 tells `bot.telegram` from `bot.ptb`)."""
    found = []

    def head(name: str) -> str:
        return ".".join(name.split(".")[:depth])

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, head(alias.name)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package the file is in
                parts = path.relative_to(root).parts[:-1]
                base = ".".join(parts[:len(parts) - node.level + 1])
                found.append((node.lineno, head(f"{base}.{node.module}" if node.module
                                                else base)))
            elif node.module:
                found.append((node.lineno, head(node.module)))
    return found


def violations(folder: str, forbidden: set[str], root: Path = ROOT) -> list[str]:
    """Imports of a forbidden package: a top-level name ("aiogram") or a dotted one
    ("bot.telegram", matching its modules too)."""
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for line, name in imports(path, root, depth=2):
            top = name.split(".")[0]
            if top in forbidden or any(name == f or name.startswith(f + ".")
                                       for f in forbidden if "." in f):
                found.append(f"{path.relative_to(root)}:{line} imports "
                             f"{top if top in forbidden else name}")
    return found


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


def outside_ptb(root: Path = ROOT) -> list[str]:
    """Every import of python-telegram-bot (`telegram`) in bot/ that is not in bot/ptb/."""
    return [found for found in violations("bot", {"telegram"}, root)
            if not found.startswith(PTB)]


def test_only_the_ptb_transport_imports_python_telegram_bot():
    assert outside_ptb() == []


def test_neither_transport_imports_the_other():
    assert violations("bot/telegram", {"telegram", "bot.ptb"}) == []
    assert violations("bot/ptb", {"aiogram", "bot.telegram"}) == []


def test_the_ptb_check_tells_ptb_from_our_bot_telegram(tmp_path):
    """`telegram` (PTB) outside bot/ptb/ is named; `bot.telegram` (ours) and relative imports
    inside bot/telegram/ are not PTB; bot/ptb/ reaching into bot/telegram/ is named."""
    for folder in ("telegram", "ptb", "cli"):
        (tmp_path / "bot" / folder).mkdir(parents=True)
    (tmp_path / "bot" / "ptb" / "client.py").write_text(
        "from telegram import Bot\nfrom bot.telegram.wire import chat_of\n", encoding="utf-8")
    (tmp_path / "bot" / "telegram" / "x.py").write_text(
        "from . import wire\nfrom .wire import chat_of\n", encoding="utf-8")
    (tmp_path / "bot" / "cli" / "probe.py").write_text(
        "from bot.telegram import client\n\ndef f():\n    import telegram.error\n",
        encoding="utf-8")
    assert outside_ptb(tmp_path) == ["bot/cli/probe.py:4 imports telegram"]
    assert violations("bot/telegram", {"telegram", "bot.ptb"}, tmp_path) == []
    assert violations("bot/ptb", {"aiogram", "bot.telegram"}, tmp_path) == [
        "bot/ptb/client.py:2 imports bot.telegram"]


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


def module_name(path: Path, root: Path) -> str:
    """dialogs/engine/kinds/__init__.py -> dialogs.engine.kinds; storage/record.py ->
    storage.record."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def modules_imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a module, lazy ones too, as precisely as the files
    under `root` tell: `from storage.work import uow` names storage.work.uow, `from
    dialogs.engine.kinds import KINDS` the package dialogs.engine.kinds."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: inside the package the file is in
                parts = path.relative_to(root).parts[:-1]
                package = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if is_module(sub, root) else base))
    return found


# storage/'s rooms, bottom first: each imports only the rooms to its left (and itself).
ROOMS = ("schema", "db", "work", "deliveries", "privacy")
ON_TOP = ("record",)  # engine actions -> rows: may import every room above but reports
READS = {"reports": ("schema", "db", "work")}  # nothing in storage imports the reports


def room_of(module: str) -> str | None:
    """storage.work.uow -> work; storage.record -> record; storage itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def backward_imports(root: Path = ROOT) -> list[str]:
    """Every import inside storage/ that goes against the rooms' order, and every module of
    storage/ that is in no room."""
    known = {*ROOMS, *ON_TOP, *READS}
    found = []
    for path in sorted((root / "storage").rglob("*.py")):
        here = room_of(module_name(path, root))
        where = path.relative_to(root)
        if here is None:
            continue
        if here not in known:
            found.append(f"{where} is in no room of storage/")
            continue
        if here in ROOMS:
            allowed = ROOMS[:ROOMS.index(here) + 1]
        elif here in ON_TOP:
            allowed = (*ROOMS, here)
        else:
            allowed = (*READS[here], here)
        for line, name in modules_imported(path, root):
            if name.split(".")[0] != "storage" or room_of(name) is None:
                continue
            if room_of(name) not in allowed:
                found.append(f"{where}:{line} imports {name} ({here} -> {room_of(name)})")
    return found


def test_storage_rooms_import_only_the_rooms_below_them():
    assert backward_imports() == []


def test_the_room_check_sees_a_backward_import(tmp_path):
    """A lazy import of the unit of work in schema/, privacy imported by deliveries/, the
    reports imported by record.py and a module outside every room are each named; imports
    along the order are not."""
    for room in ("schema", "work", "deliveries", "privacy", "reports"):
        (tmp_path / "storage" / room).mkdir(parents=True)
        (tmp_path / "storage" / room / "__init__.py").write_text("", encoding="utf-8")
    files = {
        "schema/tables.py": "def f():\n    from storage.work.uow import UnitOfWork\n",
        "work/uow.py": "from storage.schema import tables\n",
        "deliveries/rows.py": "from storage.work import uow\nfrom storage.privacy import erasure\n",
        "privacy/erasure.py": "from storage.deliveries import rows as crm\nfrom . import scope\n",
        "privacy/scope.py": "",
        "reports/funnel.py": "from storage.work.uow import UnitOfWork\n",
        "record.py": "from storage.privacy import erasure\nfrom storage.reports import funnel\n",
        "loose.py": "",
    }
    for name, text in files.items():
        (tmp_path / "storage" / name).write_text(text, encoding="utf-8")
    assert backward_imports(tmp_path) == [
        "storage/deliveries/rows.py:2 imports storage.privacy.erasure (deliveries -> privacy)",
        "storage/loose.py is in no room of storage/",
        "storage/record.py:2 imports storage.reports.funnel (record -> reports)",
        "storage/schema/tables.py:2 imports storage.work.uow (schema -> work)",
    ]


def import_cycles(folder: str, root: Path = ROOT) -> list[str]:
    """Every circle of imports among the modules of `folder` (lazy imports inside functions
    count: they only hide a circle), each as "a -> b -> ... -> a", once, from its first
    module in alphabetical order."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / folder).rglob("*.py")):
        graph[module_name(path, root)] = set()
    for path in sorted((root / folder).rglob("*.py")):
        here = module_name(path, root)
        graph[here] |= {name for _, name in modules_imported(path, root)
                        if name in graph and name != here}
    cycles: set[tuple[str, ...]] = set()

    def walk(node: str, trail: list[str]) -> None:
        for target in sorted(graph[node]):
            if target == trail[0]:
                cycles.add(tuple(trail))
            elif target > trail[0] and target not in trail:
                walk(target, [*trail, target])

    for start in sorted(graph):  # each circle found from its smallest module only
        walk(start, [start])
    return [" -> ".join((*cycle, cycle[0])) for cycle in sorted(cycles)]


def test_no_import_cycles_in_dialogs():
    assert import_cycles("dialogs") == []


def test_the_cycle_check_sees_a_lazy_circle(tmp_path):
    """A circle closed by a lazy import inside a function is named; a module that takes a
    sibling through its package (`from . import base`) imports the sibling, not the
    package's __init__ that imports it: no circle."""
    engine = tmp_path / "dialogs" / "engine"
    (engine / "kinds").mkdir(parents=True)
    (engine / "__init__.py").write_text("", encoding="utf-8")
    (engine / "kinds" / "__init__.py").write_text("from . import end\n", encoding="utf-8")
    (engine / "kinds" / "end.py").write_text(
        "from . import base\nfrom dialogs.engine.nurture import schedule\n", encoding="utf-8")
    (engine / "kinds" / "base.py").write_text("", encoding="utf-8")
    (engine / "nurture.py").write_text(
        "def f():\n    from dialogs.engine.core import reprompt\n", encoding="utf-8")
    (engine / "core.py").write_text("from dialogs.engine.kinds import KINDS\n",
                                    encoding="utf-8")
    (engine / "turn.py").write_text("", encoding="utf-8")
    assert import_cycles("dialogs", tmp_path) == [
        "dialogs.engine.core -> dialogs.engine.kinds -> dialogs.engine.kinds.end"
        " -> dialogs.engine.nurture -> dialogs.engine.core"]
