"""Conditions and formulas written in flow files, evaluated safely with simpleeval.

`eval` is never used: a flow file is data a marketer edits, and simpleeval allows only
arithmetic, comparisons, boolean logic, literals and the functions listed below.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

FUNCTIONS = {
    "min": min, "max": max, "round": round, "abs": abs, "int": int, "float": float,
    "len": len, "ceil": math.ceil, "floor": math.floor,
}
RECORDS = ("answers", "values")  # names whose attributes are step ids


class ExpressionError(ValueError):
    """A condition or formula that cannot be parsed or evaluated."""


class Record:
    """Read-only `answers.size` access: a missing step reads as None, never a dict method."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = items

    def __getattr__(self, name: str) -> Any:
        return self._items.get(name)

    def __getitem__(self, name: str) -> Any:
        return self._items.get(name)


@lru_cache(maxsize=4096)
def parse(expression: str) -> ast.AST:
    """Parse once; flows are loaded once and evaluated many times."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"cannot parse {expression!r}: {error.msg}") from None
    return ast.Expression(body=tree.body)


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    evaluator = EvalWithCompoundTypes(functions=dict(FUNCTIONS), names=dict(names))
    try:
        return evaluator.eval(expression, previously_parsed=parse(expression).body)
    except ExpressionError:
        raise
    except (InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError) as error:
        raise ExpressionError(f"{expression!r}: {error}") from None


def is_true(expression: str | None, names: Mapping[str, Any]) -> bool:
    """A condition; one that cannot be evaluated at run time counts as false."""
    if expression is None:
        return True
    try:
        return bool(evaluate(expression, names))
    except ExpressionError:
        return False


@dataclass
class References:
    """What an expression mentions, for the linter."""

    names: set[str] = field(default_factory=set)
    steps: set[tuple[str, str]] = field(default_factory=set)  # (record, step id)
    tags: set[str] = field(default_factory=set)
    compared: set[tuple[str, str]] = field(default_factory=set)  # (step id, literal)
    calls: set[str] = field(default_factory=set)


def references(expression: str) -> References:
    """The names, steps, tags and option literals an expression uses."""
    tree = parse(expression)
    found = References()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.names.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found.calls.add(node.func.id)
        elif (step := _record_step(node)) is not None:
            found.steps.add(step)
        elif isinstance(node, ast.Compare):
            _collect_compare(node, found)
    return found


def _record_step(node: ast.AST) -> tuple[str, str] | None:
    """`answers.size` or `answers['size']` -> ('answers', 'size')."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in RECORDS):
        return node.value.id, node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        key = node.slice
        if node.value.id in RECORDS and isinstance(key, ast.Constant):
            return node.value.id, str(key.value)
    return None


def _collect_compare(node: ast.Compare, found: References) -> None:
    operands = [node.left, *node.comparators]
    for left, right in itertools.pairwise(operands):
        for a, b in ((left, right), (right, left)):
            literals = _string_literals(a)
            if not literals:
                continue
            if isinstance(b, ast.Name) and b.id == "tags":
                found.tags.update(literals)
            step = _record_step(b)
            if step is not None and step[0] == "answers":
                found.compared.update((step[1], literal) for literal in literals)


def _string_literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)
                and isinstance(e.value, str)]
    return []
