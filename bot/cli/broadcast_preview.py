"""What `leadbot broadcast preview` and `status` do in the database (bot/cli/broadcast.py
parses and prints): a preview is an outbox row to the author's chat, sent by the running
bot like any message; the status is storage/reports/broadcasts.py's results as text."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bot.cli.arguments import BadArgument
from bot.jobs.broadcasts import call
from dialogs.broadcasts.schema import from_dict
from storage.schema.tables import OutboxMessage

NONE_YET = "no broadcast yet: `leadbot broadcast create FILE.yaml`"


async def _named(session: Any, name: str) -> Any:
    from storage.work.broadcasts import Broadcasts

    found = await Broadcasts(session).get_by_name(name)
    if found is None:
        raise BadArgument(f"no broadcast {name!r} (`leadbot broadcast status` lists them)")
    return found


async def preview(session: Any, name: str, chat_id: int, language: str | None) -> list[str]:
    """One message a language (or the one asked for), as a recipient would get it, with
    `{name}` as for someone who gave none. Its buttons answer "no longer works": the
    author is not a recipient."""
    found = await _named(session, name)
    definition = from_dict(found.definition)
    languages = [language] if language else list(definition.message.text) or [
        definition.message.fallback]
    for lang in languages:
        method, payload = call(found.id, definition, lang, chat_id, None)
        session.add(OutboxMessage(chat_id=chat_id, method=method, payload=payload))
    return languages


async def status(session: Any, name: str | None) -> str:
    from storage.reports.broadcasts import results
    from storage.work.broadcasts import Broadcasts

    if name is None:
        every = await Broadcasts(session).list()
        if not every:
            return NONE_YET
        return tabulate([(b.name, b.status, b.total or 0,
                          f"{b.send_at:%Y-%m-%d %H:%M}" if b.send_at else "",
                          f"{b.created_at:%Y-%m-%d}") for b in every],
                        headers=("name", "status", "recipients", "send at (UTC)", "created"))
    found = await _named(session, name)
    figures = await results(session, found.id)
    lines = [f"{found.name}: {found.status}"]
    lines += [f"  {key}: {value}" for key, value in figures.items()
              if not isinstance(value, dict)]
    lines += [f"  {key}: " + ", ".join(f"{k} {v}" for k, v in value.items())
              for key, value in figures.items() if isinstance(value, dict) and value]
    return "\n".join(lines)


