"""The schema: the tables (tables.py), the column types that behave the same on SQLite and
PostgreSQL (columns.py: UTC times, sealed text, JSON) and the sealing of personal data at
rest under LEADBOT_PII_KEY (sealing.py).

The bottom room of storage: imports SQLAlchemy / SQLModel and cryptography, nothing else
of storage, never `bot` or `dialogs`.
"""
