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

Typed instead of tapped (docs/typed.md): `say:` is what the prospect types at the step
they are on, read the way the bot reads it; `expect` beside it (optional) says what it must
mean there: an option id (or a list at a multiple choice), recorded as a tap would be;
`ambiguous` (a "did you mean"); `faq:ENTRY` (answered from the FAQ); `none`:

          - {say: "угловую", expect: corner}
          - {say: "посудомойка и подсветка", expect: [appliances, lighting]}
          - {say: "а замер платный?", expect: "faq:measuring"}

Nurture on a scenario's own clock: `wait: 2d` lets that much time pass and delivers every
follow-up and reminder that fell due (`expect: {delivered: [gallery, reminder]}`); after
one, `tap: resume` is the reminder's Continue, `tap: OPTION` answers a delivered
follow-up's question, `tap: file` its file. Quiet hours and caps are the running bot's (a
scenario's clock has no time of day).
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
    FaqHit,
    GiveReward,
    HandOff,
    RecordAnswer,
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
from dialogs.engine.nurture.schedule import REMINDER
from dialogs.engine.state import State
from dialogs.format.problems import Problem
from dialogs.format.schema import Flow, duration_seconds
from dialogs.format.yamlsource import parse_yaml
from dialogs.typed import Understood, understand

TAP_WORDS = {"continue": callback.CONTINUE, "done": callback.DONE, "skip": callback.SKIP,
             "back": callback.BACK, "agree": callback.ACCEPT, "decline": callback.DECLINE,
             "marketing_yes": callback.MARKETING_YES, "marketing_no": callback.MARKETING_NO}
USER_ID = 1000001
EXPECTATIONS = ("step", "finished", "outcome", "temperature", "score", "discount", "target",
                "mql", "sql", "tags", "says", "results", "follow_ups", "reward", "language",
                "delivered")


@dataclass
class Run:
    """What a scripted conversation did: the final state and everything the engine asked."""

    state: State
    actions: list[Action] = field(default_factory=list)
    clock: int = 0  # seconds since the scenario began
    due: dict[str, tuple[int, ScheduleFollowUp]] = field(default_factory=dict)
    waiting: dict[tuple[str, int], ScheduleFollowUp] = field(default_factory=dict)
    delivered: list[ScheduleFollowUp] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)  # `say:` turns that meant something else

    def take(self, actions: list[Action], restarted: bool = False) -> None:
        """One turn's actions: follow-ups scheduled, those a restart or hand-off ends gone."""
        self.actions.extend(actions)
        if restarted:
            self.due.clear()
            self.waiting.clear()
        for action in actions:
            if isinstance(action, ScheduleFollowUp):
                if action.kind == "reminder":
                    if not any(d.key == REMINDER for d in self.delivered):
                        self.due[REMINDER] = (self.clock + action.delay_seconds, action)
                elif action.position == 0:
                    self.due[action.key] = (self.clock + action.delay_seconds, action)
                else:
                    self.waiting[(action.sequence or "", action.position)] = action
            elif isinstance(action, HandOff):  # a manager has the lead: sequences end
                self.due = {k: v for k, v in self.due.items() if v[1].kind == "reminder"}
                self.waiting.clear()
        if self.state.finished:
            self.due.pop(REMINDER, None)

    def wait(self, seconds: int) -> None:
        """Time passes: what falls due is delivered, each one's successor scheduled."""
        end = self.clock + seconds
        while self.due:
            key, (when, action) = min(self.due.items(), key=lambda item: item[1][0])
            if when > end:
                break
            del self.due[key]
            self.delivered.append(action)
            following = self.waiting.pop((action.sequence or "", action.position + 1), None)
            if following is not None:
                self.due[following.key] = (when + following.delay_seconds, following)
        self.clock = end

    def delivered_keys(self) -> list[str]:
        return ["reminder" if d.key == REMINDER else d.key for d in self.delivered]

    @property
    def qualification(self) -> RecordQualification | None:
        return next((a for a in reversed(self.actions) if isinstance(a, RecordQualification)),
                    None)

    def texts(self) -> Iterator[str]:
        yield from (a.text for a in self.actions if isinstance(a, SendMessage))
        yield from (d.text for d in self.delivered)


class ScenarioError(ValueError):
    pass


def event_for(flow: Flow, state: State, item: Any,
              delivered: list[ScheduleFollowUp] | None = None) -> list[Event]:
    """One scripted input -> the engine events a prospect would cause."""
    if not isinstance(item, dict) or len(item) != 1:
        raise ScenarioError(f"each input is one of tap/say/text/contact/foreign_contact/media/"
                            f"command/language/wait, got {item!r}")
    (verb, value), = item.items()
    if verb == "tap":
        options = value if isinstance(value, list) else [value]
        follow_up = nurture_tap(flow, state, str(value), delivered or [])
        if follow_up is not None:
            return [follow_up]
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


def nurture_tap(flow: Flow, state: State, option: str,
                delivered: list[ScheduleFollowUp]) -> Tap | None:
    """`resume` after the reminder; a delivered follow-up's answer or `file`."""
    if option == "resume":
        if not any(d.key == REMINDER for d in delivered):
            raise ScenarioError("tap: resume, but no reminder was delivered (wait first)")
        return Tap(flow.id, flow.version, state.step, callback.RESUME)
    for sent in reversed(delivered):
        message = flow.nurture_message(sent.key)
        if message is None:
            continue
        if option == "file" and message.file is not None:
            return Tap(flow.id, flow.version, callback.NURTURE_STEP + message.id, callback.FILE)
        if any(o.id == option for o in message.question):
            return Tap(flow.id, flow.version, callback.NURTURE_STEP + message.id, option)
    return None


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
    result = Run(state)
    result.take(list(actions))
    for index, item in enumerate(inputs, start=1):
        try:
            if isinstance(item, dict) and list(item) == ["wait"]:
                result.wait(wait_seconds(item["wait"]))
                continue
            if isinstance(item, dict) and "say" in item:
                say(flow, result, item, index)
                continue
            events = event_for(flow, result.state, item, result.delivered)
        except ScenarioError as error:
            raise ScenarioError(f"input {index}: {error}") from None
        for event in events:
            result.state, actions = step(flow, result.state, event)
            result.take(list(actions), restarted=isinstance(event, Restart))
    return result


def say(flow: Flow, result: Run, item: dict, index: int) -> None:
    """A typed turn: the text goes to the engine as the prospect's message; `expect` is
    checked against what the engine did (the answer recorded, the FAQ answered) and what
    the text means at the step (dialogs.typed.understand, which the engine asks too)."""
    extra = set(item) - {"say", "expect"}
    if extra:
        raise ScenarioError(f"say: takes only 'expect' beside it, not {', '.join(sorted(extra))}")
    text, at = str(item["say"]), result.state.step
    understood = understand(flow, at, text, result.state.language)
    before = len(result.actions)
    result.state, actions = step(flow, result.state, TextMessage(text))
    result.take(list(actions))
    if "expect" not in item:
        return
    wanted = item["expect"]
    done = result.actions[before:]
    if isinstance(wanted, list) or not (str(wanted) in ("ambiguous", "none")
                                        or str(wanted).startswith("faq:")):
        ids = {str(w) for w in (wanted if isinstance(wanted, list) else [wanted])}
        recorded = next((a for a in done if isinstance(a, RecordAnswer) and a.step == at), None)
        value = recorded.value if recorded else None
        got = set(value) if isinstance(value, tuple) else {value}
        ok = recorded is not None and got == ids
    elif str(wanted).startswith("faq:"):
        ok = any(isinstance(a, FaqHit) and a.entry == str(wanted)[4:] for a in done)
    else:
        ok = understood.kind == wanted
    if not ok:
        unrecorded = " (not recorded: see what the bot said)" if (
            understood.kind == "option" and not any(
                isinstance(a, RecordAnswer) and a.step == at for a in done)) else ""
        result.typed.append(f"input {index}: say {text!r} at step '{at}': expected "
                            f"{wanted!r}, understood as {meaning(understood)}{unrecorded}")


def meaning(understood: Understood) -> str:
    if understood.kind == "option":
        return ", ".join(understood.options) + f" ({understood.how})"
    if understood.kind == "ambiguous":
        return "did you mean " + " or ".join(understood.options)
    if understood.kind == "faq":
        return f"faq:{understood.faq}"
    return "nothing"


def wait_seconds(value: Any) -> int:
    try:
        return duration_seconds(str(value))
    except ValueError:
        raise ScenarioError(f"wait: {value!r}: write a duration like 30m, 2h, 3d or 1w"
                            ) from None


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
    failures = list(run_.typed)
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
            keys = list(dict.fromkeys(a.key for a in run_.actions
                                      if isinstance(a, ScheduleFollowUp) and a.kind != "reminder"))
            if keys != list(wanted or []):
                failures.append(f"expected follow-ups {list(wanted)}, got {keys}")
        elif key == "delivered":
            if run_.delivered_keys() != list(wanted or []):
                failures.append(f"expected delivered {list(wanted or [])}, got "
                                f"{run_.delivered_keys()}")
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
