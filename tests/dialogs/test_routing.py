"""Routing rules: which managers get a lead."""

from __future__ import annotations

import pytest

from dialogs.rules.routing import Routing, RoutingError, facts

RULES = """
routes:
  - name: senior
    when: "'big_order' in tags and temperature == 'hot'"
    chat_id: -100333
    managers: [111]
  - name: ukrainian
    when: "language == 'uk' and answers.location != 'far'"
    managers: [{id: 111, name: Anna}, {id: 222, name: Boris}]
    assign: round_robin
  - name: everyone
    chat_id: -100111
"""


def lead(**changes) -> dict:
    values = {"flow": "kitchen-quiz", "tags": [], "answers": {"location": "city"},
              "language": "en", "temperature": "warm", "score": 40, "source": None,
              "sql": False, "mql": True, "target": True} | changes
    return facts(**values)


@pytest.mark.parametrize(("changes", "route"), [
    ({"tags": ["big_order"], "temperature": "hot"}, "senior"),
    ({"tags": ["big_order"]}, "everyone"),
    ({"language": "uk"}, "ukrainian"),
    ({"language": "uk", "answers": {"location": "far"}}, "everyone"),
])
def test_the_first_route_that_holds_takes_the_lead(changes, route):
    assert Routing.from_yaml(RULES).route(lead(**changes)).name == route


def test_without_routes_there_is_no_route():
    assert Routing.from_yaml("").route(lead()) is None


def test_a_route_may_restrict_who_claims():
    senior = Routing.from_yaml(RULES).routes[0]
    assert senior.may_claim(111) and not senior.may_claim(222)


@pytest.mark.parametrize(("text", "message"), [
    ("routes: [{name: x}]", "routes.0: a route needs chat_id"),
    ("routes: [{name: x, assign: round_robin}]", "needs a list of managers"),
    ("routes: [{name: x, chat_id: -1, when: 'tags in'}]",
     "routes.0.when: cannot parse"),
    ("routes: [{name: x, chat_id: -1, colour: red}]", "routes.0.colour: Extra inputs"),
    ("routes: [", "not YAML"),
    ("\n".join(["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
               + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]),
     "aliases expand to"),  # a YAML bomb: before, hours and gigabytes at start
    ("routes: [{name: x, chat_id: -1}]\nroutes: []", "line 2: 'routes' is written twice"),
])
def test_a_broken_routing_file_is_refused_with_the_route_and_field(text, message):
    with pytest.raises(RoutingError, match=r"^routing\.yaml: ") as error:
        Routing.from_yaml(text, "routing.yaml")
    assert message in str(error.value)
