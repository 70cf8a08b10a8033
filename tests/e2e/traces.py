"""One check for "nothing personal survives": every column of every table, the SQLite files
(the database, its -wal and -journal) and the captured logs, searched for a person's phone
(its digits in any format), email and name (each word, Latin and Cyrillic, as typed and as
JSON escapes it).

Generic on purpose: it reads every table the database has and every column of them, so a
new table or column that keeps personal data after erasure fails the tests that use it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text

from storage.schema.tables import SQLModel

SEPARATORS = r"[\s().+-]{0,3}"  # how people and formats split a phone's digits


@dataclass(frozen=True)
class Person:
    phone: str  # E.164
    email: str
    names: tuple[str, ...]  # as typed: Latin, Cyrillic

    def patterns(self) -> dict[str, re.Pattern[str]]:
        """What to look for, by a readable label."""
        national = self.phone[-9:]  # the subscriber number, without country or trunk code
        found = {"phone": re.compile(SEPARATORS.join(national)),
                 "email": re.compile(re.escape(self.email), re.IGNORECASE)}
        for name in self.names:
            for word in name.split():
                escaped = json.dumps(word)[1:-1]  # \u041e\u043b... as JSON columns hold it
                found[f"name {word!r}"] = re.compile(
                    "|".join(dict.fromkeys((re.escape(word), re.escape(escaped)))),
                    re.IGNORECASE)
        return found

    def found_in(self, haystack: str) -> list[str]:
        """The labels of what occurs in `haystack`, each with a little context."""
        hits = []
        for label, pattern in self.patterns().items():
            match = pattern.search(haystack)
            if match:
                start = max(0, match.start() - 60)
                hits.append(f"{label}: …{haystack[start:match.end() + 60]!r}…")
        return hits


async def every_column(engine) -> str:
    """Every value of every column of every table in the database (as the database lists
    them, so a table a migration adds is searched too), as text."""
    chunks = []
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(SQLModel.metadata.tables) <= set(tables)
        for table in tables:
            for row in await connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(f"{table}: {value}" for value in row if value is not None)
    return "\n".join(chunks)


def database_files(engine) -> str:
    """A SQLite database and its -wal / -journal files, raw bytes read as text."""
    if engine.dialect.name != "sqlite":
        return ""  # PostgreSQL's files are the server's: docs/privacy.md on dead tuples
    database = Path(engine.url.database)
    files = sorted(database.parent.glob(f"{database.name}*"))
    assert database in files
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in files)


async def traces(person: Person, engine, logs: str) -> dict[str, list]:
    """Where the person can still be found: place -> what was found there."""
    places = {"database": await every_column(engine), "files": database_files(engine),
              "logs": logs}
    return {place: hits for place, haystack in places.items()
            if (hits := person.found_in(haystack))}
