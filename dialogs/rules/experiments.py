"""A/B experiments: which variant a prospect gets. Pure and deterministic.

A prospect's variant is a function of the experiment's name, their Telegram user id and the
variants' weights: a stable hash (SHA-256, not Python's `hash()`, which changes per process)
of "name:user id" read as a number in [0, 1), laid over the variants' weights in the order
of their names. The same person gets the same variant on every start, in every process,
after a restart of the bot and after /forget (the user id is gone from the database, but
the hash of the id they come back with is the same). A different experiment splits the same
people independently of this one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _hash(experiment: str, user_id: int) -> int:
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def bucket(experiment: str, user_id: int) -> float:
    """Where `user_id` falls in [0, 1) for `experiment`: uniform over ids, stable forever."""
    return _hash(experiment, user_id) / 2**64


def assign(experiment: str, user_id: int, variants: Sequence[tuple[str, int]]) -> str:
    """The variant (a name of `variants`, pairs of name and positive weight) that `user_id`
    gets in `experiment`. The order `variants` come in does not matter."""
    ordered = sorted(variants)
    if not ordered or any(weight <= 0 for _, weight in ordered):
        raise ValueError("an experiment needs variants with positive weights")
    # in whole numbers: exact, whatever the weights (a float product overflowed past 1e308)
    point = _hash(experiment, user_id) * sum(weight for _, weight in ordered) // 2**64
    for name, weight in ordered:
        if point < weight:
            return name
        point -= weight
    return ordered[-1][0]  # not reached: point < the sum of the weights
