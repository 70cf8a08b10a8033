"""YAML that remembers where each value came from, so errors can name a line.

PyYAML keeps the last of two equal keys without a word; a flow with two steps of the same
id must be refused instead, so duplicates are reported here.

Aliases are measured before anything is built: a "billion laughs" file (an anchor used nine
times in an anchor used nine times ...) or a merge key (`<<`) doing the same would expand to
billions of values and hang the start, and an alias inside its own anchor never ends. Both are
refused as a YAMLError with the line of the anchor. So is nesting deeper than any flow needs,
which would otherwise exhaust the stack of PyYAML's composer (a crash, not an error).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[str | int, ...]

# How many values aliases may add to a document beyond the ones written in it. A flow that
# reuses an options list fifty times adds a few hundred; a bomb adds billions.
MAX_ALIAS_EXPANSION = 10_000
# A flow nests about six levels deep (steps > step > options > option > texts > language).
MAX_DEPTH = 64


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
    _check_depth(text)
    loader = FlowYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
        lines: dict[Path, int] = {}
        duplicates: list[tuple[Path, int]] = []
        data = _build(loader, node, (), lines, duplicates) if node is not None else None
    finally:
        loader.dispose()
    return YamlSource(data, lines, duplicates)


def _check_depth(text: str) -> None:
    """libyaml's parser is a state machine (no recursion); the composer that follows is not."""
    depth = 0
    for event in yaml.parse(text, Loader=FlowYamlLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                error = yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep")
                error.problem = str(error)  # type: ignore[attr-defined]
                error.problem_mark = event.start_mark  # type: ignore[attr-defined]
                raise error
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class AliasError(yaml.YAMLError):
    """Aliases that expand without bound, or an alias inside its own anchor."""

    def __init__(self, problem: str, node: yaml.Node) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = node.start_mark


class ScalarError(yaml.YAMLError):
    """A scalar Python cannot build (an integer of thousands of digits)."""

    def __init__(self, problem: str, node: yaml.Node) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = node.start_mark


def _check_expansion(root: yaml.Node) -> None:
    """Count the values the document expands to, each shared node once per use, without
    expanding anything (sizes are memoised per node); refuse cycles and bombs."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative: a deeply nested document must not exhaust Python's stack
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise AliasError("an alias refers to the value it stands in", node)
        distinct += 1
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise AliasError("an alias refers to the value it stands in", child)
            if id(child) not in sizes:
                stack.append((child, False))
    if sizes[id(root)] - distinct > MAX_ALIAS_EXPANSION:
        raise AliasError(f"aliases expand to {sizes[id(root)]:,} values, more than "
                         f"{MAX_ALIAS_EXPANSION:,} beyond the file's own (a YAML bomb?)", root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as error:  # a number past Python's 4,300 digits: no flow needs one
        raise ScalarError(f"a value that cannot be read ({error})", node) from None
