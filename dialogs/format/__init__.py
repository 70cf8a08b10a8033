"""The flow format: the schema of a flow file, YAML that remembers lines, the loader (YAML ->
schema -> linter), scenario files, and the Mermaid diagram of a flow.

May import: the standard library, pydantic, PyYAML, and dialogs.rules / dialogs.lint /
dialogs.engine (scenarios run the engine). No I/O beyond reading the files it is given.
"""
