"""Tracking links and their clicks (storage/schema/money.py): the rows `GET /go/<link>`
writes (bot/web/go.py), the links `leadbot links` and LEADBOT_LINKS_FILE make, and what
privacy does to clicks (erasure and retention clear their click ids; /mydata lists them).

A click keeps no personal data beyond the ad platforms' click ids and the UTM parameters:
those are what erasure and retention clear; the row itself stays, counted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.money import Click, TrackingLink
from storage.schema.tables import Conversation

# a click's token goes after `FLOW__` in Telegram's start parameter (64 characters at
# most, A-Z a-z 0-9 _ -): letters and digits only, so it never holds a second "__"
TOKEN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_LENGTH = 12  # 62**12 ~ 3e21: not guessed, and 32 + 2 + 12 <= 64
TOKEN = re.compile(r"^[A-Za-z0-9]{12}\Z")
CLICK_IDS = ("yclid", "gclid", "fbclid", "ym_uid", "ga_client_id")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")  # a link's name: the path of /go/<name>
# (\Z, not $: `$` also matches before a final newline, and "vk\n" would pass)


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


@dataclass(frozen=True)
class LinkRow:
    """A link as `leadbot links list` shows it."""

    name: str
    flow_id: str
    source: str
    campaign: str | None
    declared: bool
    clicks: int
    conversations: int


async def link(session: AsyncSession, name: str) -> TrackingLink | None:
    return await session.get(TrackingLink, name)


async def add_click(session: AsyncSession, found: TrackingLink, utm: dict[str, str],
                    ids: dict[str, str], now: datetime) -> str:
    """One click of `found`, with its (already cleaned) UTM parameters and click ids;
    returns its token. Not looked up first (one query less on the hot path): with 62^12
    tokens, two equal ones among a billion clicks are a 1-in-10^4 event, and the unique
    index then refuses the insert (that visitor gets a 503 and clicks again)."""
    token = new_token()
    session.add(Click(token=token, link=found.name, flow_id=found.flow_id,
                      source=found.source, campaign=found.campaign, utm=utm,
                      created_at=now, **{k: ids.get(k) for k in CLICK_IDS}))
    return token


async def click_of(session: AsyncSession, token: str | None) -> Click | None:
    """The click a deep link's `FLOW__TOKEN` names (None: not a token, or unknown)."""
    if not token or not TOKEN.fullmatch(token):
        return None
    return (await session.execute(select(Click).where(Click.token == token))).scalar_one_or_none()


async def save_declared(session: AsyncSession, links: Iterable[TrackingLink]) -> None:
    """The links of LEADBOT_LINKS_FILE, at start: the file wins over a link of the same
    name made by the CLI; a link dropped from the file is no longer declared (its clicks
    stay, and it keeps working until `leadbot links remove`)."""
    wanted = {row.name: row for row in links}
    await session.execute(update(TrackingLink).where(
        TrackingLink.declared.is_(True), TrackingLink.name.not_in(list(wanted) or [""]))
        .values(declared=False))
    for row in wanted.values():
        existing = await session.get(TrackingLink, row.name)
        if existing is None:
            session.add(TrackingLink(name=row.name, flow_id=row.flow_id, source=row.source,
                                     campaign=row.campaign, declared=True))
        else:
            existing.flow_id, existing.source = row.flow_id, row.source
            existing.campaign, existing.declared = row.campaign, True


async def remove(session: AsyncSession, name: str) -> bool:
    """The link goes (its clicks stay, counted by their source); False: no such link."""
    result = await session.execute(delete(TrackingLink).where(TrackingLink.name == name))
    return bool(result.rowcount)


async def listing(session: AsyncSession) -> list[LinkRow]:
    """Every link with its clicks and the conversations its clicks started."""
    clicks = dict((await session.execute(
        select(Click.link, func.count()).group_by(Click.link))).all())
    started = dict((await session.execute(
        select(Click.link, func.count(Conversation.id))
        .join(Conversation, Conversation.click_id == Click.id).group_by(Click.link))).all())
    rows = (await session.execute(select(TrackingLink).order_by(TrackingLink.name))).scalars()
    return [LinkRow(r.name, r.flow_id, r.source, r.campaign, r.declared,
                    clicks.get(r.name, 0), started.get(r.name, 0)) for r in rows]


CLEARED: dict[str, Any] = {"utm": {}, **{name: None for name in CLICK_IDS}}


async def forget_clicks(session: AsyncSession, click_ids: Iterable[int | None]) -> int:
    """Erasure: the click ids and UTM parameters of the clicks that started these
    conversations go; the clicks stay, counted."""
    ids = [i for i in click_ids if i is not None]
    if not ids:
        return 0
    result = await session.execute(update(Click).where(Click.id.in_(ids)).values(**CLEARED))
    return result.rowcount or 0


async def expire_clicks(session: AsyncSession, before: datetime) -> int:
    """Retention: clicks older than `before` that started no conversation lose their
    click ids and UTM parameters (a click that started one is cleared with it)."""
    started = select(Conversation.id).where(Conversation.click_id == Click.id).exists()
    holding = [getattr(Click, name).is_not(None) for name in CLICK_IDS]
    holding.append(func.length(cast(Click.utm, String)) > 2)  # not "{}" (cleared already)
    result = await session.execute(update(Click).where(
        and_(Click.created_at < before, ~started, or_(*holding))).values(**CLEARED))
    return result.rowcount or 0


async def clicks_of(session: AsyncSession, click_ids: Iterable[int | None]
                    ) -> list[dict[str, Any]]:
    """/mydata: the clicks a person's conversations came from: the link, when, and which
    click ids were given (not their values: those are the ad platforms')."""
    ids = [i for i in click_ids if i is not None]
    if not ids:
        return []
    rows = (await session.execute(select(Click).where(Click.id.in_(ids))
                                  .order_by(Click.id))).scalars()
    return [{"link": c.link, "source": c.source, "campaign": c.campaign,
             "clicked_at": c.created_at.isoformat(),
             "click_ids": [n for n in CLICK_IDS if getattr(c, n)],
             "utm": sorted(c.utm or {})} for c in rows]
