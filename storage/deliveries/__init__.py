"""Deliveries to the sales team's CRM, the storage side: the delivery rows written with the
lead's events and taken by the worker after the commit (rows.py), the CRM's own ids
(links.py), and a lead read whole for a payload (facts.py).

Imports storage.schema, storage.db and storage.work, never `bot`.
"""
