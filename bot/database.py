"""Opening the database: a clear one-line error instead of a driver traceback.

`open_database` (for `leadbot run` and `leadbot db upgrade`) creates and migrates;
`open_existing` (for every command that only reads or re-encrypts: report, export,
rotate-key) opens a database that is there and at this leadbot's revision, and creates or
changes nothing when it is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import IO

from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db.engine import DatabaseUrlError, async_url, create_engine
from storage.db.locks import StartupLockTimeout
from storage.db.migrate import current_revision, head_revision, upgrade

CONNECT_TIMEOUT = 10
FAILURES = (OSError, OperationalError, DBAPIError, TimeoutError)
log = logging.getLogger(__name__)
_HELD: dict[Path, IO[str]] = {}  # hold_sqlite's lock files, open until the process ends


class DatabaseError(Exception):
    pass


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "?"


def check_url(url: str) -> None:
    """LEADBOT_DATABASE_URL's form (the database, the port) without opening or creating
    anything (a SQLite file's folder is made when it is opened): DatabaseError."""
    try:
        sqlite = make_url(url).get_backend_name() == "sqlite"
    except Exception:
        sqlite = False  # async_url says what is wrong with it
    if not sqlite:
        try:
            async_url(url)
        except DatabaseUrlError as error:
            raise DatabaseError(f"LEADBOT_DATABASE_URL: {error}") from None


def _engine(url: str) -> AsyncEngine:
    try:
        return create_engine(url)
    except DatabaseUrlError as error:
        raise DatabaseError(f"LEADBOT_DATABASE_URL: {error}") from None


def _cannot(url: str, error: BaseException) -> DatabaseError:
    reason = getattr(error, "orig", None) or error
    words = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
    return DatabaseError(f"cannot open the database {safe_url(url)}: {words}")


def _unknown(url: str, revision: str | None) -> DatabaseError:
    return DatabaseError(f"the database {safe_url(url)} is at revision {revision}, which this "
                         f"leadbot does not know (its newest is {head_revision()}): it was "
                         "migrated by a newer leadbot; run that one")


async def open_database(url: str) -> AsyncEngine:
    """An engine on a migrated database (created when there is none), or DatabaseError
    saying what is wrong. One log line when it migrated: from which revision to which."""
    engine = _engine(url)
    try:
        before = await asyncio.wait_for(current_revision(engine), CONNECT_TIMEOUT)
        # no time limit once connected: a migration may take long, and waiting for another
        # process's has its own (the start-up lock's, STARTUP_WAIT)
        found = await upgrade(engine)
    except FAILURES as error:
        await engine.dispose()
        raise _cannot(url, error) from None
    except CommandError:
        await engine.dispose()
        raise _unknown(url, before) from None
    except StartupLockTimeout as error:
        await engine.dispose()
        raise DatabaseError(f"the database {safe_url(url)}: {error}") from None
    head = head_revision()
    if found != head:  # as found under the lock: another process may have migrated it
        log.info("database migrated from %s to %s", found or "nothing (a new database)", head)
    return engine


def hold_sqlite(url: str) -> None:
    """`leadbot run` and `leadbot db upgrade`: a SQLite file is one process's (SQLite takes
    no more; several processes need PostgreSQL). An exclusive flock(2) on FILE.lock beside
    the database, kept for the life of the process: the kernel drops it when the process
    ends, however it ends (a kill -9 leaves nothing stale). DatabaseError, in one line naming
    the file, while another process holds it. PostgreSQL, SQLite in memory: nothing.

    A file of its own rather than the database itself: SQLite locks the database with
    fcntl(2) record locks, independent of flock on Linux, but on NFS flock is emulated by an
    fcntl lock of the whole file, which would shut every reader (report, export) out; and
    the database need not exist yet. The lock file stays when the process ends (deleting
    it under a running bot would let a second process lock a new file of that name)."""
    import fcntl

    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
    except Exception:
        return  # not a URL: the database's opening says so
    if not sqlite or parsed.database in (None, "", ":memory:"):
        return
    database = Path(parsed.database).expanduser()
    lock = database.with_name(database.name + ".lock")
    if lock.resolve() in _HELD:
        return  # this process has it already
    try:
        async_url(url)  # makes the folder, as opening the database would
        handle = open(lock, "a+", encoding="ascii")  # noqa: SIM115 (held until the end)
    except DatabaseUrlError as error:
        raise DatabaseError(f"LEADBOT_DATABASE_URL: {error}") from None
    except OSError as error:
        raise DatabaseError(f"cannot open the database {safe_url(url)}: cannot open {lock}: "
                            f"{error.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if not isinstance(error, BlockingIOError):  # a filesystem without locks
            handle.close()
            raise DatabaseError(f"cannot open the database {safe_url(url)}: cannot lock "
                                f"{lock}: {error.strerror}") from None
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise DatabaseError(
            f"the SQLite file {database} is in use by another leadbot process"
            f"{f' (pid {holder})' if holder.isdigit() else ''}: SQLite serves one process; "
            "stop that one first, or run several on PostgreSQL") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")  # for the line a second process is refused with
    handle.flush()
    _HELD[lock.resolve()] = handle


def release_sqlite() -> None:
    """hold_sqlite's locks given back, at the end of the command that took them (the exit
    would; a command run in-process, by a test, ends before its process)."""
    while _HELD:
        _HELD.popitem()[1].close()


async def open_existing(url: str) -> AsyncEngine:
    """An engine on a database that exists and is at this leadbot's revision; DatabaseError
    naming the URL (without its password) otherwise. Nothing is created or migrated, and a
    SQLite file is only read until it proved to be leadbot's: no folder or file is made,
    and another program's file is left as it was (not even switched to WAL)."""
    path = _sqlite_file(url)
    if path is not None:
        _current(url, _read_only_revision(url, path))
        return _engine(url)
    engine = _engine(url)
    try:
        _current(url, await asyncio.wait_for(current_revision(engine), CONNECT_TIMEOUT))
    except FAILURES as error:
        await engine.dispose()
        raise _cannot(url, error) from None
    except DatabaseError:
        await engine.dispose()
        raise
    return engine


def _current(url: str, revision: str | None) -> None:
    head = head_revision()
    if revision == head:
        return
    if revision is None:
        raise DatabaseError(f"the database {safe_url(url)} has no leadbot tables (not "
                            f"migrated, or not leadbot's): run `leadbot db upgrade`")
    if not _known(revision):
        raise _unknown(url, revision)
    raise DatabaseError(f"the database {safe_url(url)} is at revision {revision}, not "
                        f"{head}: run `leadbot db upgrade`")


def _sqlite_file(url: str) -> Path | None:
    """A SQLite URL's file, which must be there (DatabaseError); None for other databases
    and SQLite in memory."""
    try:
        parsed = make_url(url)
    except Exception:
        return None  # create_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).expanduser()
    if path.is_file():
        return path
    folder = next((p for p in path.parents if p.exists()), None)
    if path.is_dir():
        why = f"{path} is a folder"
    elif folder is not None and not folder.is_dir():
        why = f"{folder} is a file, not a folder"
    else:
        why = f"there is no file {path}"
    raise DatabaseError(f"cannot open the database {safe_url(url)}: {why} (`leadbot run` or "
                        "`leadbot db upgrade` creates it; is LEADBOT_DATABASE_URL right?)")


def _read_only_revision(url: str, path: Path) -> str | None:
    """The revision of a SQLite file, read through a read-only connection."""
    import sqlite3

    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine as plain_engine

    uri = path.resolve().as_uri() + "?mode=ro"
    engine = plain_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except (sqlite3.Error, DBAPIError) as error:
        raise _cannot(url, error) from None
    finally:
        engine.dispose()


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from storage.db.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


async def migrate(url: str) -> str:
    from storage.db.migrate import current_revision

    hold_sqlite(url)  # not under a running bot: its schema would change beneath it
    try:
        engine = await open_database(url)
        try:
            return await current_revision(engine) or "none"
        finally:
            await engine.dispose()
    finally:
        release_sqlite()


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
    engine = await open_existing(url)
    try:
        async with UnitOfWork(sessionmaker(engine)) as uow:
            rows = await privacy.reseal(uow)
            await uow.commit()
        return rows
    except crypto.PiiKeyError as error:
        raise DatabaseError(str(error)) from None
    finally:
        await engine.dispose()
