"""Rules and decisions, pure and table-tested: scoring and qualification, safe expressions,
routing of leads to managers, working hours, and reading what prospects type (validators).

May import: the standard library, simpleeval, phonenumbers, email-validator, pydantic,
PyYAML (dialogs.format.yamlsource for the routing file), the flow's schema and the engine's
records that scoring reads (dialogs.format.schema, dialogs.engine.actions, .state). Never
I/O beyond text given to it.
"""
