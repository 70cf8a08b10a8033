"""Every setting is in the README's settings table (the project's rule)."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [f"LEADBOT_{name.upper()}" for name in Settings.model_fields
               if f"`LEADBOT_{name.upper()}`" not in text]
    assert missing == []
