"""The documentation site's generated parts: an MkDocs hook (`hooks:` in mkdocs.yml).

Pages in docs/ hold markers, HTML comments that a Markdown viewer shows as nothing; at
build time each is replaced by what the code says, so the reference cannot drift from it:

- `<!-- leadbot:settings -->`: every setting, from `bot.settings.Settings.model_fields`
  (environment variable, type, default, and the docstring under the field);
- `<!-- leadbot:command NAME -->` (`run`, `db upgrade`, ...): one `leadbot` command, from
  `bot.cli.main.build_parser()`: its usage, description and options, as `--help` has them;
  `<!-- leadbot:commands -->`: every command not placed by name (a new one shows up there);
- `<!-- leadbot:telegram-commands -->`: the menu of commands the bot registers in Telegram
  (`bot.texts.COMMANDS`);
- `<!-- leadbot:include FILE -->`: a Markdown file of the repository outside docs/
  (README.md, CONTRIBUTING.md), its links rewritten for the site: into docs/ they point at
  the page, to another included file at its page, to any other file of the repository they
  become its path as code (the site has no copy of it).

What cannot be rendered (a setting without a description, a command named by a marker that
does not exist) is logged as a warning, which `mkdocs build --strict` turns into a failure.
The functions that render are plain and importable, for the tests.
"""

from __future__ import annotations

import argparse
import logging
import posixpath
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # document the code of this tree, whichever leadbot is installed
    sys.path.insert(0, str(ROOT))
log = logging.getLogger("mkdocs.hooks.leadbot")

MARKER = re.compile(r"^<!-- leadbot:([a-z-]+)(?: +(.*?))? *-->[ \t]*$", re.MULTILINE)
USAGE_WIDTH = 88


# -- settings --------------------------------------------------------------------------------
TYPE_NAMES = {str: "text", int: "integer", float: "number", bool: "true / false",
              Path: "path"}


def type_text(annotation: Any) -> str:
    """A setting's type in words: `integer`, `list of integers`, `secret text`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        return " or ".join(type_text(a) for a in kept)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (list, tuple, set, frozenset) and args:
        return f"list of {type_text(args[0])}s"
    if origin is dict and len(args) == 2:
        return f"{type_text(args[0])} = {type_text(args[1])} pairs"
    if getattr(annotation, "__name__", "") == "SecretStr":
        return "secret text"
    return TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def bounds_text(metadata: list[Any]) -> str:
    words = []
    for item in metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None:
                words.append(f"{sign} {number(value)}")
    return ", ".join(words)


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def default_text(field: Any) -> str:
    """The default as one would write it in the environment; `—` for none (unset)."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None or value in ([], {}, (), set()):
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        try:
            value = value.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            value = value.as_posix()
    elif isinstance(value, dict):
        value = ",".join(f"{key}={number(item)}" for key, item in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(number(item) for item in value)
    else:
        value = number(value)
    return f"`{value}`" if value != "" else "(empty)"


def settings_rows(model: Any = None) -> list[dict[str, str]]:
    """One row per field of the Settings model: variable, type, default, description."""
    if model is None:
        from bot.settings import Settings as model
    prefix = model.model_config.get("env_prefix", "")
    rows = []
    for name, field in model.model_fields.items():
        kind = type_text(field.annotation)
        bounds = bounds_text(field.metadata)
        rows.append({
            "name": name,
            "variable": f"{prefix}{name}".upper(),
            "type": f"{kind}, {bounds}" if bounds else kind,
            "default": default_text(field),
            "description": " ".join((field.description or "").split()),
        })
    return rows


def settings_table(model: Any = None) -> str:
    rows = settings_rows(model)
    for row in rows:
        if not row["description"]:
            log.warning("setting %s has no description: write a docstring under the field "
                        "in bot/settings.py", row["variable"])
    lines = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{r['variable']}` | {r['type']} | {cell(r['default'])} | "
              f"{cell(r['description'])} |" for r in rows]
    return "\n".join(lines)


# -- commands --------------------------------------------------------------------------------
def commands(parser: argparse.ArgumentParser | None = None,
             path: tuple[str, ...] = ()) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """Every command that does something (the leaves of the subcommand tree), in the
    parser's order: (its name after `leadbot`, its parser, its one-line help)."""
    if parser is None:
        from bot.cli.main import build_parser
        parser = build_parser()
    found = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue  # an alias
            seen.add(id(sub))
            below = commands(sub, (*path, name))
            alone = not below or any(  # `leadbot links` does something without a subcommand
                isinstance(a, argparse._SubParsersAction) and not a.required
                for a in sub._actions)
            if alone:
                found.append((" ".join((*path, name)), sub, helps.get(name, "")))
            found += below
    return found


def formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    try:
        return parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)
    except TypeError:
        return parser._get_formatter()


def usage(parser: argparse.ArgumentParser) -> str:
    form = formatter(parser)
    form.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return form.format_help().strip()


def options(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(how it is written, what it means) for every argument but --help."""
    form, found = formatter(parser), []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        written = form._format_action_invocation(action)
        try:
            meaning = form._expand_help(action) if action.help else ""
        except (KeyError, TypeError, ValueError):
            meaning = action.help or ""
        notes = []
        if action.option_strings and action.required:
            notes.append("required")
        if (action.option_strings and action.default not in (None, False, argparse.SUPPRESS)
                and "%(default)" not in (action.help or "")):
            notes.append(f"default: `{action.default}`")
        meaning = " ".join(meaning.split())
        if notes:
            meaning = f"{meaning} ({'; '.join(notes)})" if meaning else "; ".join(notes)
        found.append((written, meaning))
    return found


def command_section(name: str, parser: argparse.ArgumentParser, summary: str,
                    level: int = 3) -> str:
    parts = [f"{'#' * level} `leadbot {name}`", ""]
    said = [" ".join(text.split()) for text in (summary, parser.description or "") if text]
    for text in dict.fromkeys(said):  # the help line, then the description if it differs
        parts += [prose(sentence(text)), ""]
    parts += ["```text", usage(parser), "```", ""]
    found = options(parser)
    if found:
        parts += ["| argument | meaning |", "| --- | --- |"]
        parts += [f"| `{written}` | {cell(prose(meaning))} |" for written, meaning in found]
        parts.append("")
    if parser.epilog:
        parts += [prose(" ".join(parser.epilog.split())), ""]
    return "\n".join(parts)


def sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def telegram_commands() -> str:
    from bot.texts import COMMANDS

    languages = list(COMMANDS)
    names = list(dict.fromkeys(c for commands in COMMANDS.values() for c, _ in commands))
    described = {lang: dict(commands) for lang, commands in COMMANDS.items()}
    lines = ["| command | " + " | ".join(languages) + " |",
             "| --- | " + " | ".join("---" for _ in languages) + " |"]
    for name in names:
        lines.append(f"| `/{name}` | " + " | ".join(
            cell(prose(described[lang].get(name, "—"))) for lang in languages) + " |")
    return "\n".join(lines)


# -- Markdown helpers ------------------------------------------------------------------------
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose(text: str) -> str:
    """Plain text (a help line) safe as Markdown: what is in backticks stays code, the rest
    has Markdown's and HTML's special characters escaped."""
    out, last = [], 0
    for match in CODE_SPAN.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\*_\[\]#])", r"\\\1", text)


def cell(text: str) -> str:
    """Text for one table cell: one line, its pipes escaped (also inside code)."""
    return " ".join(text.split()).replace("|", "\\|")


# -- files of the repository included as pages -----------------------------------------------
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")


def included(docs_dir: Path) -> dict[str, str]:
    """{repository file: the page of docs/ that includes it}."""
    pages = {}
    for page in sorted(docs_dir.rglob("*.md")):
        for match in MARKER.finditer(page.read_text(encoding="utf-8")):
            if match.group(1) == "include" and match.group(2):
                pages[match.group(2).strip()] = page.relative_to(docs_dir).as_posix()
    return pages


def rewrite_links(markdown: str, source: str, page: str, docs: str = "docs",
                  pages: dict[str, str] | None = None) -> str:
    """The links of `source` (a path in the repository), rewritten for `page` (a path in
    docs/); outside fenced code blocks only."""
    pages = pages or {}
    here = posixpath.dirname(source)
    page_dir = posixpath.dirname(page)

    def one(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return match.group(0)
        path, _, anchor = target.partition("#")
        path = posixpath.normpath(posixpath.join(here, path))
        anchor = f"#{anchor}" if anchor else ""
        if path == docs or path.startswith(docs + "/"):
            inside = posixpath.relpath(path, docs)
        elif path in pages:
            inside = pages[path]
        else:
            if bang:
                log.warning("%s: the picture %s is outside docs/", source, path)
                return match.group(0)
            code = f"`{path}`"
            return code if text.strip("`") == path else f"{text} ({code})"
        return f"{bang}[{text}]({posixpath.relpath(inside, page_dir or '.')}{anchor})"

    def links(text: str) -> str:  # outside code spans
        out, last = [], 0
        for match in CODE_SPAN.finditer(text):
            out += [LINK.sub(one, text[last:match.start()]), match.group(0)]
            last = match.end()
        return "".join([*out, LINK.sub(one, text[last:])])

    out, prose_lines, fenced = [], [], None  # a link's text may run over a line break
    for line in markdown.splitlines(keepends=True):
        fence = re.match(r"^ *(`{3,}|~{3,})", line)
        if fenced is None and not fence:
            prose_lines.append(line)
            continue
        if fenced is None:
            out.append(links("".join(prose_lines)))
            prose_lines, fenced = [], fence.group(1)
        elif fence and fence.group(1).startswith(fenced):
            fenced = None
        out.append(line)
    out.append(links("".join(prose_lines)))
    return "".join(out)


# -- the hook --------------------------------------------------------------------------------
def expand(markdown: str, page: str, docs_dir: Path) -> str:
    """Every marker of one page (a path in docs/) replaced by what it stands for."""
    placed = {name for kind, name in MARKER.findall(markdown) if kind == "command"}
    known = {name: (parser, summary) for name, parser, summary in commands()} if (
        placed or "<!-- leadbot:commands -->" in markdown) else {}

    def one(match: re.Match[str]) -> str:
        kind, argument = match.group(1), (match.group(2) or "").strip()
        if kind == "settings":
            return settings_table()
        if kind == "command":
            if argument not in known:
                log.warning("%s: no command 'leadbot %s' in bot.cli.main.build_parser()",
                            page, argument)
                return ""
            return command_section(argument, *known[argument])
        if kind == "commands":
            return "\n".join(command_section(name, *known[name])
                             for name in known if name not in placed)
        if kind == "telegram-commands":
            return telegram_commands()
        if kind == "include":
            source = ROOT / argument
            if not source.is_file():
                log.warning("%s: no file %s to include", page, argument)
                return ""
            text = source.read_text(encoding="utf-8")
            return rewrite_links(text, argument, page, pages=included(docs_dir))
        log.warning("%s: unknown marker leadbot:%s", page, kind)
        return match.group(0)

    return MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown, page.file.src_uri, Path(config["docs_dir"]))
