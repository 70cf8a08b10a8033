"""The linter: everything a flow can get wrong that the schema cannot see (the graph, the
texts, the expressions, the limits of Telegram), each problem naming file, line, step, field.

May import: the standard library, dialogs.format (schema, problems, yamlsource), dialogs.rules
(expressions), dialogs.engine (callback data, the engine's texts). Pure: no I/O.
"""
