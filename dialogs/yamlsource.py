"""YAML that remembers where each value came from, so errors can name a line.

PyYAML keeps the last of two equal keys without a word; a flow with two steps of the same
id must be refused instead, so duplicates are reported here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[str | int, ...]


# libyaml's parser when PyYAML was built with it: ~10x faster on large flows.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FlowYamlLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """YAML 1.2 booleans: only true/false. Option ids like `yes`, `no`, `on` stay strings."""


FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    FlowYamlLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


class YamlSource:
    """A parsed YAML document and the line (1-based) of every value in it."""

    def __init__(self, data: Any, lines: dict[Path, int],
                 duplicates: list[tuple[Path, int]]) -> None:
        self.data = data
        self.lines = lines
        self.duplicates = duplicates

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def parse_yaml(text: str) -> YamlSource:
    """Parse one YAML document; raises yaml.YAMLError with a line on a syntax error."""
    loader = FlowYamlLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        duplicates: list[tuple[Path, int]] = []
        data = _build(loader, node, (), lines, duplicates) if node is not None else None
    finally:
        loader.dispose()
    return YamlSource(data, lines, duplicates)


def _build(loader: FlowYamlLoader, node: yaml.Node, path: Path,
           lines: dict[Path, int], duplicates: list[tuple[Path, int]]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            child = (*path, str(key))
            if key in result:
                duplicates.append((child, key_node.start_mark.line + 1))
                continue
            result[key] = _build(loader, value_node, child, lines, duplicates)
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, index), lines, duplicates)
                for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
