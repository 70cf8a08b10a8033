"""The work of the running bot: the unit of work (uow.py: one update, one transaction;
append-only rows staged and written in one INSERT per table at commit) and the
repositories it holds, one module per concern (repository.py says what they share):
prospects.py (the update, the prospect, conversations, leads, consents, flow versions),
outbox.py (messages to send, delivery events), handoffs.py (claims, SLA timers, cards),
followups.py (nurture sequences, the reminder).

Imports storage.schema and storage.db only, never `bot`.
"""
