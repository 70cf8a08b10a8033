"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.schema import sealing


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out. SQLite keeps no time zone, so it stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Sealed(TypeDecorator):
    """Personal data (name, phone, email): encrypted when LEADBOT_PII_KEY is set
    (storage/schema/sealing.py), plain otherwise. Text in the database either way."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return sealing.seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return sealing.unseal(value)


class StateJSON(TypeDecorator):
    """A conversation's engine state: JSON whose `contact` values (name, phone, email) are
    sealed like the columns above."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: dict | None, dialect: Dialect) -> dict | None:
        return _map_contact(value, sealing.seal)

    def process_result_value(self, value: dict | None, dialect: Dialect) -> dict | None:
        return _map_contact(value, sealing.unseal)


def _map_contact(state: dict | None, convert) -> dict | None:
    if not state or not state.get("contact"):
        return state
    return {**state, "contact": {k: convert(v) for k, v in state["contact"].items()}}


class SealedJSON(TypeDecorator):
    """A JSON document that may quote personal data (an outbox message's text): the whole
    document sealed as `{"sealed": "enc1:..."}` when LEADBOT_PII_KEY is set."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: dict | None, dialect: Dialect) -> dict | None:
        if value is None or sealing.current() is None:
            return value
        return {"sealed": sealing.seal(json.dumps(value, ensure_ascii=False))}

    def process_result_value(self, value: dict | None, dialect: Dialect) -> dict | None:
        if isinstance(value, dict) and set(value) == {"sealed"}:
            return json.loads(sealing.unseal(value["sealed"]) or "null")
        return value
