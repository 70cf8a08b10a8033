"""Alembic environment. Run through storage.db.migrate (which hands us a connection), or by
`alembic -x url=...` for development (autogenerate)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlmodel import SQLModel

import storage.schema.tables  # noqa: F401  (registers the tables)
from storage.db.engine import create_engine

target_metadata = SQLModel.metadata


def run_with(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_from_url(context.get_x_argument(as_dictionary=True)["url"]))
