"""The pure core: what a flow is and what it means, with no I/O, no database, no aiogram.

- `dialogs.format`: the flow file (schema, YAML with lines, loader, scenarios, diagram);
- `dialogs.lint`: what the linter refuses, every problem naming file, line, step and field;
- `dialogs.engine`: `step(flow, state, event) -> (new state, actions)` and its parts;
- `dialogs.rules`: scoring, expressions, routing, working hours, reading typed input;
- `dialogs/flows/`: the shipped flows (data, not code).

storage/ and bot/ import from here; nothing here imports them (tests/test_layers.py).
"""
