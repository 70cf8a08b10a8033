"""Opening the database at start: a clear one-line error instead of a driver traceback."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db.engine import DatabaseUrlError, create_engine
from storage.db.migrate import upgrade

CONNECT_TIMEOUT = 10


class DatabaseError(Exception):
    pass


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "?"


async def open_database(url: str) -> AsyncEngine:
    """An engine on a migrated database, or DatabaseError saying what is wrong."""
    try:
        engine = create_engine(url)
    except DatabaseUrlError as error:
        raise DatabaseError(f"LEADBOT_DATABASE_URL: {error}") from None
    try:
        await asyncio.wait_for(upgrade(engine), CONNECT_TIMEOUT)
    except (OSError, OperationalError, DBAPIError, TimeoutError) as error:
        await engine.dispose()
        reason = getattr(error, "orig", None) or error
        words = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        raise DatabaseError(f"cannot open the database {safe_url(url)}: {words}") from None
    return engine


async def migrate(url: str) -> str:
    from storage.db.migrate import current_revision

    engine = await open_database(url)
    try:
        return await current_revision(engine) or "none"
    finally:
        await engine.dispose()


async def reseal(url: str, keys: str) -> int:
    """`leadbot db rotate-key`: every personal value written again with the newest key."""
    from storage.db.engine import sessionmaker
    from storage.privacy import rekey as privacy
    from storage.schema import sealing as crypto
    from storage.work.uow import UnitOfWork

    try:
        crypto.configure(keys)
    except crypto.PiiKeyError as error:
        raise DatabaseError(str(error)) from None
    engine = await open_database(url)
    try:
        async with UnitOfWork(sessionmaker(engine)) as uow:
            rows = await privacy.reseal(uow)
            await uow.commit()
        return rows
    except crypto.PiiKeyError as error:
        raise DatabaseError(str(error)) from None
    finally:
        await engine.dispose()
