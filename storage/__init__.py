"""Persistence, in rooms by concern, bottom first: schema/ (the tables, their column types,
the sealing of personal data), db/ (the engine and the migrations), work/ (the unit of work
and the repositories of the running bot), deliveries/ (the CRM's delivery rows), privacy/
(rights, erasure, rekeying); record.py (engine actions -> rows) on top. A room imports only
the rooms before it; reports/ (the funnel, hand-off speed, the leads export) reads schema,
db and work, and nothing in storage imports it (tests/test_layers.py checks all this).

Imports `dialogs` only, never `bot` or a Telegram library."""
