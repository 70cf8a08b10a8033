"""Typed answers understood (docs/typed.md): text a prospect types at a step that has
buttons, matched to the step's options, to the flow's FAQ, or to nothing. Pure and
offline: normalising, lemmas (pymorphy3 for ru and uk, a stemmer for en), numbers in words
and digits, fuzzy matching (rapidfuzz). No I/O but the libraries' own dictionaries."""

from dialogs.typed.mask import mask
from dialogs.typed.understand import Understood, understand

__all__ = ["Understood", "mask", "understand"]
