"""Scripted conversations that pin down what a flow does: `NAME.scenarios.yaml` beside it.

    flow: kitchen-quiz
    scenarios:
      - name: urgent island kitchen is a hot lead
        language: ru
        do:
          - tap: continue
          - tap: island
          - tap: [appliances, lighting]   # multiple choice: toggle each, then done
          - text: "Иван"
          - contact: "+79991234567"      # the prospect shares their own contact
        expect: {temperature: hot, outcome: handoff, discount: 15}

Taps name options by id, so one scenario works in every language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dialogs.engine import callback
from dialogs.engine.actions import (
    Action,
    GiveReward,
    RecordQualification,
    ScheduleFollowUp,
    SendMessage,
)
from dialogs.engine.core import step
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    Event,
    OtherMessage,
    Restart,
    Start,
    Tap,
    TextMessage,
)
from dialogs.engine.state import State
from dialogs.format.problems import Problem
from dialogs.format.schema import Flow
from dialogs.format.yamlsource import parse_yaml

TAP_WORDS = {"continue": callback.CONTINUE, "done": callback.DONE, "skip": callback.SKIP,
             "back": callback.BACK, "agree": callback.ACCEPT, "decline": callback.DECLINE,
             "marketing_yes": callback.MARKETING_YES, "marketing_no": callback.MARKETING_NO}
USER_ID = 1000001
EXPECTATIONS = ("step", "finished", "outcome", "temperature", "score", "discount", "target",
                "mql", "sql", "tags", "says", "results", "follow_ups", "reward", "language")


@dataclass
class Run:
    """What a scripted conversation did: the final state and everything the engine asked."""

    state: State
    actions: list[Action] = field(default_factory=list)

    @property
    def qualification(self) -> RecordQualification | None:
        return next((a for a in reversed(self.actions) if isinstance(a, RecordQualification)),
                    None)

    def texts(self) -> Iterator[str]:
        return (a.text for a in self.actions if isinstance(a, SendMessage))


class ScenarioError(ValueError):
    pass


def event_for(flow: Flow, state: State, item: Any) -> list[Event]:
    """One scripted input -> the engine events a prospect would cause."""
    if not isinstance(item, dict) or len(item) != 1:
        raise ScenarioError(f"each input is one of tap/text/contact/foreign_contact/media/"
                            f"command/language, got {item!r}")
    (verb, value), = item.items()
    if verb == "tap":
        options = value if isinstance(value, list) else [value]
        events: list[Event] = [tap(flow, state, str(option)) for option in options]
        if isinstance(value, list):
            events.append(tap(flow, state, "done"))
        return events
    if verb == "text":
        return [TextMessage(str(value))]
    if verb in ("contact", "foreign_contact"):
        owner = USER_ID if verb == "contact" else USER_ID + 1
        return [ContactShared(phone=str(value), sender_user_id=USER_ID, contact_user_id=owner)]
    if verb == "media":
        return [OtherMessage(kind=str(value))]
    if verb == "command" and value in ("back", "restart"):
        return [Back() if value == "back" else Restart()]
    if verb == "language":
        return [ChangeLanguage(str(value))]
    raise ScenarioError(f"unknown input {verb}: {value!r}")


def tap(flow: Flow, state: State, option: str) -> Tap:
    engine_option = TAP_WORDS.get(option, option)
    current = flow.steps[state.step]
    known = {o.id for o in getattr(current, "options", ())}
    if not engine_option.startswith("~") and engine_option not in known:
        raise ScenarioError(f"step '{state.step}' has no option '{option}' "
                            f"(options: {', '.join(sorted(known)) or 'none'})")
    return Tap(flow.id, flow.version, state.step, engine_option)


def run(flow: Flow, inputs: list[Any], language: str | None = None,
        source: str | None = None) -> Run:
    state, actions = step(flow, None, Start(user_id=USER_ID, language_code=language,
                                            source=source, seed="scenario"))
    result = Run(state, list(actions))
    for index, item in enumerate(inputs, start=1):
        try:
            events = event_for(flow, result.state, item)
        except ScenarioError as error:
            raise ScenarioError(f"input {index}: {error}") from None
        for event in events:
            result.state, actions = step(flow, result.state, event)
            result.actions.extend(actions)
    return result


def check(run_: Run, expect: dict[str, Any]) -> list[str]:
    """Every expectation that did not hold, in words."""
    q = run_.qualification
    got: dict[str, Any] = {
        "step": run_.state.step, "finished": run_.state.finished,
        "outcome": run_.state.outcome, "language": run_.state.language,
        "temperature": q.temperature if q else None, "score": q.score if q else None,
        "discount": q.discount if q else None, "target": q.target if q else None,
        "mql": q.mql if q else None, "sql": q.sql if q else None,
    }
    failures = []
    for key, wanted in expect.items():
        if key not in EXPECTATIONS:
            failures.append(f"unknown expectation '{key}' (known: {', '.join(EXPECTATIONS)})")
        elif key == "tags":
            have = set(q.tags) if q else set()
            missing = set(wanted) - have
            if missing:
                failures.append(f"expected tags {sorted(missing)}, got {sorted(have)}")
        elif key == "says":
            said = [plain(text) for text in run_.texts()]
            for fragment in wanted if isinstance(wanted, list) else [wanted]:
                if not any(plain(fragment) in text for text in said):
                    failures.append(f"expected the bot to say {fragment!r}")
        elif key == "results":
            for name, value in dict(wanted).items():
                if run_.state.results.get(name) != value:
                    failures.append(f"expected {name} = {value}, got "
                                    f"{run_.state.results.get(name)}")
        elif key == "follow_ups":
            keys = [a.key for a in run_.actions if isinstance(a, ScheduleFollowUp)]
            if keys != list(wanted or []):
                failures.append(f"expected follow-ups {list(wanted)}, got {keys}")
        elif key == "reward":
            rewarded = any(isinstance(a, GiveReward) for a in run_.actions)
            if rewarded != bool(wanted):
                failures.append(f"expected reward {bool(wanted)}, got {rewarded}")
        elif got[key] != wanted:
            failures.append(f"expected {key} {wanted!r}, got {got[key]!r}")
    return failures


def plain(text: str) -> str:
    """No-break spaces (in "150 000") read as spaces: scenario authors type plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def scenario_file(flow_file: Path) -> Path:
    return flow_file.with_name(flow_file.name.rsplit(".", 1)[0] + ".scenarios.yaml")


def check_file(flow: Flow, path: Path) -> tuple[int, list[Problem]]:
    """Run every scenario in `path`; returns how many ran and the problems found."""
    name = str(path)
    try:
        source = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return 0, [Problem(name, None, None, None, f"cannot read scenarios: {error}")]
    data = source.data if isinstance(source.data, dict) else {}
    if data.get("flow") != flow.id:
        return 0, [Problem(name, 1, None, "flow", f"should be '{flow.id}'")]
    problems, count = [], 0
    for index, scenario in enumerate(data.get("scenarios") or []):
        line = source.line(("scenarios", index))
        title = scenario.get("name", f"#{index + 1}") if isinstance(scenario, dict) else index
        where = f"scenario '{title}'"
        if not isinstance(scenario, dict):
            problems.append(Problem(name, line, None, None, f"{where}: must be a mapping"))
            continue
        inputs, expect = scenario.get("do") or [], scenario.get("expect") or {}
        if not isinstance(inputs, list) or not isinstance(expect, dict):
            problems.append(Problem(name, line, None, None,
                                    f"{where}: 'do' must be a list and 'expect' a mapping"))
            continue
        count += 1
        try:
            result = run(flow, inputs, scenario.get("language"), scenario.get("source"))
        except ScenarioError as error:
            problems.append(Problem(name, line, None, None, f"{where}: {error}"))
            continue
        try:
            failures = check(result, expect)
        except (TypeError, ValueError) as error:  # e.g. `tags: 5`, `results: yes`
            failures = [f"an expectation has the wrong shape: {error}"]
        for failure in failures:
            problems.append(Problem(name, line, None, None, f"{where}: {failure}"))
    return count, problems
