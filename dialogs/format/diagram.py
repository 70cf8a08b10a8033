"""The dialog tree as a Mermaid diagram (GitHub renders it): marketers would rather look."""

from __future__ import annotations

from dialogs.engine.texts import pick
from dialogs.format.schema import (
    CalculatorStep,
    ConsentStep,
    EndStep,
    Flow,
    SingleChoiceStep,
    Step,
)
from dialogs.lint.graph import edges

SHAPES = {  # Mermaid node shapes by kind: questions are hexagons, ends are stadiums
    "message": ('["', '"]'), "single_choice": ('{{"', '"}}'), "multiple_choice": ('{{"', '"}}'),
    "free_text": ('[/"', '"/]'), "number": ('[/"', '"/]'), "contact": ('[("', '")]'),
    "consent": ('[["', '"]]'), "calculator": ('[["', '"]]'), "reward": ('(("', '"))'),
    "end": ('(["', '"])'),
}
ICONS = {"message": "💬", "single_choice": "❓", "multiple_choice": "☑️", "free_text": "✏️",
         "number": "🔢", "contact": "📇", "consent": "🔏", "calculator": "🧮", "reward": "🎁",
         "end": "🏁"}


def mermaid(flow: Flow, language: str | None = None) -> str:
    language = language or flow.language
    ids = {step_id: f"s{index}" for index, step_id in enumerate(flow.steps)}
    lines = ["flowchart TD", f"  %% {flow.id} v{flow.version}"]
    for step_id, step in flow.steps.items():
        left, right = SHAPES[step.kind]
        lines.append(f"  {ids[step_id]}{left}{label(flow, step_id, step, language)}{right}")
    for step_id, step in flow.steps.items():
        for target, path in graph_edges(step_id, step):
            if target in ids:
                text = edge_label(flow, step, path, language)
                arrow = f"-->|\"{text}\"|" if text else "-->"
                lines.append(f"  {ids[step_id]} {arrow} {ids[target]}")
    lines.append(f"  {ids[flow.start]}:::start")
    lines.append("  classDef start stroke-width:3px")
    lines.append(f"  q[\"{qualification(flow)}\"]:::rules")
    lines.append("  classDef rules fill:#fff8dc,stroke:#c9a800")
    return "\n".join(lines) + "\n"


def graph_edges(step_id: str, step: Step) -> list[tuple[str, tuple]]:
    """Like the linter's edges, but every option of a single choice gets its own arrow,
    so its score shows even when it goes where the step's `next` says."""
    found = list(edges(step_id, step))
    if isinstance(step, SingleChoiceStep) and step.next:
        found = [edge for edge in found if edge[1][2:] != ("next",)]
        found += [(step.next, ("steps", step_id, "options", index, "next"))
                  for index, option in enumerate(step.options) if not option.next]
    return found


def label(flow: Flow, step_id: str, step: Step, language: str) -> str:
    text = pick(step.text or {}, language, flow.language) if step.text else ""
    head = f"{ICONS[step.kind]} {step_id}"
    if isinstance(step, EndStep):
        head += f" → {step.outcome}" if step.outcome else " → by the rules"
    if isinstance(step, CalculatorStep):
        text = step.formula
    return f"{escape(head)}<br/>{escape(short(text))}" if text else escape(head)


def edge_label(flow: Flow, step: Step, path: tuple, language: str) -> str:
    field = path[2] if len(path) > 2 else ""
    if field == "options" and isinstance(step, SingleChoiceStep):
        option = step.options[path[3]]
        points = f" +{option.score}" if option.score > 0 else (
            f" {option.score}" if option.score else "")
        return escape(short(pick(option.text, language, flow.language), 24) + points)
    if field == "branches":
        branch = step.branches[path[3]]
        return escape(f"if {branch.when}" if branch.when else "otherwise")
    if isinstance(step, ConsentStep):
        return "declines" if field == "declined" else "agrees"
    return ""


def qualification(flow: Flow) -> str:
    rules = flow.qualification
    parts = ["📊 Qualification", f"target: {rules.target}"]
    if rules.temperature.hot:
        parts.append(f"hot: {rules.temperature.hot}")
    if rules.temperature.warm:
        parts.append(f"warm: {rules.temperature.warm}")
    parts += [f"MQL: {rules.mql}", f"SQL: {rules.sql}"]
    parts += [f"{rule.when or 'otherwise'} → {rule.do}" for rule in rules.outcome]
    return "<br/>".join(escape(part) for part in parts)


def short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Mermaid entity codes, so quotes and comparisons in labels cannot break the diagram."""
    for plain, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("{", "#123;"),
                        ("}", "#125;")):
        text = text.replace(plain, code)
    return text
