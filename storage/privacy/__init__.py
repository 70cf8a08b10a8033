"""The prospect's rights over what is stored: their own data, the consents in force and
withdrawing them (rights.py), erasure and retention, the SQLite log's old copies included
(erasure.py), personal data sealed again under the newest key (rekey.py), and the reach of
one prospect's data that rights and erasure share (scope.py).

Imports storage.schema, storage.db, storage.work and storage.deliveries (an erasure tells
the CRMs), never `bot`.
"""
