"""The database: the engine (engine.py: a SQLite file with WAL and BEGIN IMMEDIATE, or
PostgreSQL) and the schema's history (migrate.py runs migrations/, one Alembic history: at
start and by `leadbot db upgrade`; never create_all).

Imports storage.schema only (the migrations use its tables and column types), never `bot`.
"""
