"""Personal data sealed under the newest key: every sealed column of every table, found
from the column types (`sealed_columns`), written again (`reseal`: key rotation, and
encrypting a database that started without a key), and what the bot checks at start (a
sealed sample from each table, leads stored in plain text)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Text, cast, func, literal_column, or_, select
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import SQLModel

from storage.schema import sealing
from storage.schema.columns import Sealed, SealedJSON, StateJSON
from storage.schema.tables import Lead
from storage.work.uow import UnitOfWork

SEALED = re.compile(re.escape(sealing.PREFIX) + r"[A-Za-z0-9_=-]+")


def sealed_columns() -> list[tuple[Any, tuple[str, ...]]]:
    """Every table with values encrypted under LEADBOT_PII_KEY, and those columns: read from
    the column types, so a new sealed column is rotated and checked without a list here to
    keep up to date."""
    found = []
    for mapper in sorted(SQLModel._sa_registry.mappers, key=lambda m: m.local_table.name):
        names = tuple(c.name for c in mapper.local_table.columns
                      if isinstance(c.type, Sealed | SealedJSON | StateJSON))
        if names:
            found.append((mapper.class_, names))
    return found


async def sealed_samples(uow: UnitOfWork) -> list[str]:
    """One encrypted value as stored (read around the column types) from each table that
    holds any: what LEADBOT_PII_KEY must open."""
    session = uow.session
    assert session is not None
    samples = []
    for model, names in sealed_columns():
        columns = [cast(model.__table__.c[name], Text) for name in names]
        row = (await session.execute(
            select(*columns).select_from(model.__table__)
            .where(or_(*(c.like(f"%{sealing.PREFIX}%") for c in columns))).limit(1))).first()
        if row is not None:
            samples.append(next(SEALED.search(v).group(0) for v in row
                                if v and SEALED.search(v)))
    return samples


async def unsealed_count(uow: UnitOfWork) -> int:
    """Leads whose personal data is stored in plain text."""
    session = uow.session
    assert session is not None
    result = await session.execute(
        select(func.count()).select_from(Lead.__table__).where(or_(*(
            literal_column(c).isnot(None) & ~literal_column(c).like(f"{sealing.PREFIX}%")
            for c in ("name", "phone", "email")))))
    return int(result.scalar_one())


async def reseal(uow: UnitOfWork, batch: int = 500) -> int:
    """Every sealed column of every table (`sealed_columns`) written again with the newest
    key of LEADBOT_PII_KEY (plain values get encrypted): key rotation and encrypting a
    database that started without a key. Returns the rows rewritten."""
    session = uow.session
    assert session is not None
    done = 0
    for model, columns in sealed_columns():
        last = 0
        while True:
            rows = list((await session.execute(
                select(model).where(model.id > last).order_by(model.id).limit(batch))
            ).scalars())
            if not rows:
                break
            for row in rows:
                if model is Lead:
                    row.phone_hash = sealing.lookup_hash(row.phone)
                for column in columns:
                    flag_modified(row, column)
                done += 1
            last = rows[-1].id
            await session.flush()
    return done
