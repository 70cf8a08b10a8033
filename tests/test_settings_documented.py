"""Every setting is documented where it is declared (the project's rule): a docstring under
its field in bot/settings.py, which the documentation's settings reference renders."""

from __future__ import annotations

from bot.settings import Settings
from tests.docs import DOCS, hooks


def test_every_setting_has_a_description():
    missing = [f"LEADBOT_{name.upper()}" for name, field in Settings.model_fields.items()
               if not (field.description or "").strip()]
    assert missing == [], "write a docstring under each of these fields in bot/settings.py"


def test_the_reference_renders_every_setting_with_its_description():
    table = hooks().settings_table().splitlines()
    for name, field in Settings.model_fields.items():
        rows = [row for row in table if row.startswith(f"| `LEADBOT_{name.upper()}` |")]
        assert len(rows) == 1, name
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        assert description and description in rows[0], name


def test_the_settings_page_holds_the_generated_table():
    assert "<!-- leadbot:settings -->" in (DOCS / "settings.md").read_text(encoding="utf-8")


def test_a_field_without_a_description_fails_the_strict_build(caplog):
    from pydantic import BaseModel

    class Undocumented(BaseModel):
        model_config = {"use_attribute_docstrings": True}
        documented: int = 1
        """Said."""
        forgotten: str = "x"

    with caplog.at_level("WARNING", logger="mkdocs"):
        table = hooks().settings_table(Undocumented)
    assert "| `DOCUMENTED` | integer | `1` | Said. |" in table
    assert [r.getMessage() for r in caplog.records] == [
        "setting FORGOTTEN has no description: write a docstring under the field in "
        "bot/settings.py"]
