"""What `leadbot broadcast` does in the database (bot/cli/broadcast.py parses and prints), and
the dashboard's Broadcasts page (bot/web/broadcasts.py) with it: the same functions, so a
broadcast made, sent or moved on either is made, sent or moved the same way.

- `check` reads a file as `create` does (the flows the bot runs, the unsubscribe footers);
  `store` keeps it as a draft and says who it would reach now;
- `send` sends a draft now or schedules it; `change` pauses, resumes or cancels;
- a preview is an outbox row to the author's chat, sent by the running bot like any
  message; the status is storage/reports/broadcasts.py's results as text.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from tabulate import tabulate

from bot.cli.arguments import BadArgument
from bot.jobs.broadcasts import BroadcastConfig, call, start
from dialogs.broadcasts.schema import Broadcast as Definition
from dialogs.broadcasts.schema import from_dict, to_dict
from storage.schema.broadcasts import Broadcast
from storage.schema.tables import OutboxMessage, Prospect
from storage.work.broadcasts import BroadcastError, Broadcasts

NONE_YET = "no broadcast yet: `leadbot broadcast create FILE.yaml`"
LANGUAGES = ("ru", "uk", "en")
ACTIONS = {"pause": "paused", "resume": "sending", "cancel": "cancelled"}  # `change`


def flows_of(registry: Any) -> list[Any]:
    """Every flow the bot runs (their ids, experiments and steps), and every name the menu
    and deep links take (an experiment's too): what a broadcast's flows are checked against."""
    flows = [runnable.flow for runnable in registry.latest.values()]
    known = {flow.id for flow in flows}
    return [*flows, *(name for name, _ in registry.entries() if name not in known)]


def check(text: str, source_name: str, base_dir: Any, registry: Any) -> Definition:
    """The broadcast in `text`, checked like a flow against the flows of `registry` and with
    the unsubscribe footer each language gets; `base_dir`: where its photo or document is
    (None: only an https URL will do). Raises dialogs.broadcasts.parse.BroadcastError (a
    FlowError: every problem, each with its line)."""
    from bot.service.rights import unsubscribe_footer
    from dialogs.broadcasts.parse import load_broadcast

    return load_broadcast(text, source_name, base_dir, flows_of(registry),
                          footer={lang: unsubscribe_footer(lang) for lang in LANGUAGES})


async def store(session: Any, broadcast: Definition, text: str, created_by: str,
                timezone: str, now: datetime) -> tuple[Broadcast, Any]:
    """The checked file as a draft (a draft of the same name replaced), and the segment it
    would reach now (storage/reports/segment.py SegmentResult: recipients, left out per
    reason). `timezone`: LEADBOT_TIMEZONE, the segment's days."""
    from storage.reports.segment import segment

    definition = to_dict(broadcast)
    found = await segment(session, definition.get("segment"), timezone, now)
    made = await Broadcasts(session).create(
        broadcast.name, definition, hashlib.sha256(text.encode()).hexdigest(),
        created_by[:64], broadcast.send_at, now=now)
    return made, found


async def send(session: Any, name: str, at: datetime | None, now: datetime,
               config: BroadcastConfig) -> tuple[Broadcast, int | None]:
    """Sends a draft: scheduled for `at` (or the file's send_at while it is ahead), its
    segment chosen then; else now, its recipients written. (the broadcast, how many it goes
    to now, or None when scheduled). Only a draft: a paused one is resumed (`change`)."""
    found = await _named(session, name)
    if found.status != "draft":
        raise BroadcastError(f"broadcast {name!r} is {found.status}: only a draft is sent "
                             "(a paused one is resumed)")
    moment = at or (found.send_at if found.send_at and found.send_at > now else None)
    if moment is not None:
        found.send_at = moment
        await Broadcasts(session).set_status(found, "scheduled", now=now)
        return found, None
    return found, await start(session, found, now, config)


async def change(session: Any, name: str, action: str, now: datetime) -> Broadcast:
    """`pause`, `resume` (a paused one only: a draft is sent, not resumed) or `cancel`."""
    found = await _named(session, name)
    if action == "resume" and found.status != "paused":
        raise BroadcastError(f"broadcast {name!r} is {found.status}: only a paused one is "
                             "resumed")
    await Broadcasts(session).set_status(found, ACTIONS[action], now=now)
    return found


async def _named(session: Any, name: str) -> Broadcast:
    found = await Broadcasts(session).get_by_name(name)
    if found is None:
        raise BadArgument(f"no broadcast {name!r} (`leadbot broadcast status` lists them)")
    return found


class NoChat(BadArgument):
    """A preview to a chat that never started the bot: Telegram would refuse it."""


async def preview(session: Any, name: str, chat_id: int, language: str | None) -> list[str]:
    """One message a language (or the one asked for), as a recipient would get it, with
    `{name}` as for someone who gave none. Its buttons answer "no longer works": the
    author is not a recipient. NoChat when nobody with that chat has started the bot."""
    found = await _named(session, name)
    if (await session.execute(select(Prospect.user_id).where(
            Prospect.chat_id == chat_id).limit(1))).first() is None:
        raise NoChat(f"nobody with chat {chat_id} has started the bot: open it in Telegram, "
                     "send /start, then preview again (a bot may write only to those who "
                     "did)", "--chat")
    definition = from_dict(found.definition)
    languages = [language] if language else list(definition.message.text) or [
        definition.message.fallback]
    for lang in languages:
        method, payload = call(found.id, definition, lang, chat_id, None)
        session.add(OutboxMessage(chat_id=chat_id, method=method, payload=payload))
    return languages


async def status(session: Any, name: str | None) -> str:
    from storage.reports.broadcasts import results

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


