"""The engine: `core.step(flow, state, event) -> (new state, actions)`, pure and total; the
Turn it builds a step with, the State it keeps, the events it hears, the actions it returns,
button data (callback), its own words (texts), one module per step kind (kinds/), and
nurture (nurture/: sequences, the reminder, a follow-up's taps).

May import: the standard library, dialogs.format.schema, dialogs.rules. Never I/O, a
database, aiogram or bot/. Inside it, nothing imports core.py (it routes the events and
wires the Turn's hooks), and no two modules import each other, lazily or not
(tests/test_layers.py).
"""
