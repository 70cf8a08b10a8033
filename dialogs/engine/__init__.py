"""The engine: `core.step(flow, state, event) -> (new state, actions)`, pure and total; the
Turn it builds a step with, the State it keeps, the events it hears, the actions it returns,
button data (callback), its own words (texts), and one module per step kind (kinds/).

May import: the standard library, dialogs.format.schema, dialogs.rules. Never I/O, a
database, aiogram or bot/.
"""
