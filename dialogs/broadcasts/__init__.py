"""Broadcasts (issue 25): the file a marketer writes (`leadbot broadcast create FILE.yaml`),
its checks, and what one recipient is sent: the text in their language, its buttons.

- `schema.py`: the file as frozen models, and the plain JSON kept in `broadcasts.definition`;
- `markup.py`: Telegram's HTML, checked and turned into plain text + entities;
- `checks.py`: the linter (Telegram's limits, languages, placeholders, flows, the segment);
- `parse.py`: YAML text -> Broadcast, or BroadcastError naming every field that is wrong;
- `message.py`: render one recipient's text, the keyboard, the buttons' callback data;
- `scoring.py`: a question button's answer, scored like a follow-up's (the actions to record).

May import: the standard library, pydantic, PyYAML, simpleeval (through dialogs.rules), and
dialogs.format / dialogs.lint / dialogs.rules / dialogs.engine. No I/O beyond what the flow
linter does: a local photo or document is looked for next to the file.
"""
