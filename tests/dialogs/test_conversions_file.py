"""The conversions file (dialogs/rules/conversions.py): what a marketer may get wrong comes
back as one message naming the field, never a value silently taken for another."""

from __future__ import annotations

import pytest

from dialogs.rules.conversions import Conversions, ConversionsError


@pytest.mark.parametrize(("text", "said"), [
    ("metrica: {counter: true, goals: {hot: h}}", "metrica.counter: "),
    ("metrica: {counter: abc, goals: {hot: h}}", "metrica.counter: "),
    ("metrica: {counter: 99999999999999999999999, goals: {hot: h}}", "metrica.counter: "),
    ("metrica: {counter: 12, goals: {hot: 'a b'}}", "metrica.goals.hot: "),
    ("metrica: {counter: 12, goals: {warm: h}}", "metrica.goals.warm: moments are "),
    ("metrica: {counter: 12, goalz: {hot: h}}", "metrica.goals: Field required"),
    ("meta: {pixel: 123, goals: {hot: Lead}}", "meta.pixel: "),
    ("ga4: {measurement_id: G-ABCD1234, goals: {}}", "ga4.goals: no goal is set"),
    ("", "no platform (metrica, meta, ga4) is set"),
])
def test_a_file_the_bot_cannot_use_names_the_field(text, said):
    with pytest.raises(ConversionsError) as refused:
        Conversions.from_yaml(text, "conversions.yaml")
    message = str(refused.value)
    assert message.startswith("conversions.yaml: ") and said in message
    assert "\n" not in message


def test_a_quoted_counter_is_still_a_number():
    found = Conversions.from_yaml("metrica: {counter: '12345678', goals: {hot: h}}", "f")
    assert found.metrica is not None and found.metrica.counter == 12345678
