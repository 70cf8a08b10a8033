"""Engine and linter speed. Prints figures; asserts nothing (the machines are shared).

    .venv/bin/python bench/engine.py

1. Microseconds per engine step on the shipped flows: random cooperative prospects
   (taps, typed numbers and contacts), every step timed on its own.
2. A typed answer beside a tap at the same single-choice steps: the engine step for a tap,
   the engine step for the option typed as a prospect would (a synonym, else the label, in
   lower case), and understand() alone (dialogs/typed/, issue 26).
3. Time to load and lint a generated flow of 500 steps (YAML parse, schema, every check).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialogs.engine import callback  # noqa: E402
from dialogs.engine.core import step  # noqa: E402
from dialogs.engine.events import ContactShared, Start, Tap, TextMessage  # noqa: E402
from dialogs.format.loader import load_flows, read_flow  # noqa: E402

WALKS = 400


def next_event(flow, state, rnd: random.Random):
    current = flow.steps[state.step]
    tap = lambda option: Tap(flow.id, flow.version, state.step, option)  # noqa: E731
    if current.kind == "single_choice":
        return tap(rnd.choice(current.options).id)
    if current.kind == "multiple_choice":
        fresh = [o.id for o in current.options if o.id not in state.selected]
        return tap(rnd.choice([*fresh, callback.DONE]))
    if current.kind == "number":
        return TextMessage(str(rnd.randint(int(current.min or 1), int(current.max or 500))))
    if current.kind == "consent":
        return tap(rnd.choice([callback.MARKETING_YES, callback.MARKETING_NO]) if state.phase
                   else (callback.ACCEPT if rnd.random() < 0.9 else callback.DECLINE))
    if current.kind == "contact":
        return {"name": TextMessage("Olena"), "email": TextMessage("olena@gmail.com"),
                "phone": ContactShared("380671234567", 1, 1)}[state.phase]
    return tap(callback.CONTINUE)


def bench_engine() -> None:
    loaded = load_flows([ROOT / "dialogs" / "flows"])
    flows = {flow_id: entry.flow for flow_id, entry in loaded.items()}
    print(f"engine: {WALKS} random prospects per flow, each step timed")
    print(f"  {'flow':<24}{'steps':>7}{'median µs':>11}{'p90 µs':>9}{'p99 µs':>9}")
    everything = []
    for flow_id, flow in flows.items():
        rnd = random.Random(7)
        timings = []
        for walk in range(WALKS):
            started = time.perf_counter_ns()
            state, _ = step(flow, None, Start(user_id=walk, language_code=rnd.choice(
                ["ru", "uk", "en"])))
            timings.append(time.perf_counter_ns() - started)
            while not state.finished:
                event = next_event(flow, state, rnd)
                started = time.perf_counter_ns()
                state, _ = step(flow, state, event)
                timings.append(time.perf_counter_ns() - started)
        everything += timings
        print(f"  {flow_id:<24}{len(timings):>7}{row(timings)}")
    print(f"  {'all':<24}{len(everything):>7}{row(everything)}   (target: median <= 50 µs)")


def bench_typed_step() -> None:
    from dialogs.typed import understand

    loaded = load_flows([ROOT / "dialogs" / "flows"])
    flows = {flow_id: entry.flow for flow_id, entry in loaded.items()}
    taps: list[int] = []
    typed: list[int] = []
    alone: list[int] = []
    for flow in flows.values():
        rnd = random.Random(11)
        for walk in range(WALKS // 4):
            language = rnd.choice(["ru", "uk", "en"])
            state, _ = step(flow, None, Start(user_id=walk, language_code=language))
            while not state.finished:
                event = next_event(flow, state, rnd)
                current = flow.steps[state.step]
                if current.kind == "single_choice" and isinstance(event, Tap):
                    option = next(o for o in current.options if o.id == event.option)
                    said = (option.synonyms.get(language) or (option.text[language],))[0].lower()
                    started = time.perf_counter_ns()
                    step(flow, state, TextMessage(said))
                    typed.append(time.perf_counter_ns() - started)
                    started = time.perf_counter_ns()
                    understand(flow, state.step, said, language)
                    alone.append(time.perf_counter_ns() - started)
                    started = time.perf_counter_ns()
                    state, _ = step(flow, state, event)
                    taps.append(time.perf_counter_ns() - started)
                else:
                    state, _ = step(flow, state, event)
    print("typed vs tap at the same single-choice steps (all flows)")
    print(f"  {'':<24}{'steps':>7}{'median µs':>11}{'p90 µs':>9}{'p99 µs':>9}")
    print(f"  {'tap':<24}{len(taps):>7}{row(taps)}")
    print(f"  {'typed (engine step)':<24}{len(typed):>7}{row(typed)}")
    print(f"  {'understand() alone':<24}{len(alone):>7}{row(alone)}")


def row(timings: list[int]) -> str:
    micro = sorted(t / 1000 for t in timings)
    p = lambda q: micro[min(len(micro) - 1, int(q * len(micro)))]  # noqa: E731
    return f"{statistics.median(micro):>11.1f}{p(0.90):>9.1f}{p(0.99):>9.1f}"


def generated_flow(size: int) -> dict:
    text = lambda s: {"ru": f"{s} (ru)", "uk": f"{s} (uk)", "en": s}  # noqa: E731
    steps = {}
    for index in range(size - 3):
        following = f"q{index + 1}" if index + 1 < size - 3 else "consent"
        steps[f"q{index}"] = {
            "kind": "single_choice", "text": text(f"Question {index}? Discount {{discount}} %"),
            "options": [{"id": f"o{n}", "text": text(f"Answer {n}"), "score": n,
                         "tags": [f"t{index % 20}"], "next": following} for n in range(3)],
            "branches": [{"when": f"answers.q{index} == 'o2' and score > {index}",
                          "next": following}],
        }
    consent = {  # what the linter requires of every consent text, in every language
        "ru": "{company} обработает имя и телефон, чтобы связаться с вами; хранит "
              "{retention_days} дней. /mydata, /forget. Вопросы: {company_contact}. {policy_url}",
        "uk": "{company} обробить ім'я та телефон, щоб зв'язатися з вами; зберігає "
              "{retention_days} днів. /mydata, /forget. Питання: {company_contact}. {policy_url}",
        "en": "{company} processes your name and phone to contact you; kept {retention_days} "
              "days. /mydata, /forget. Questions: {company_contact}. {policy_url}"}
    steps["consent"] = {"kind": "consent", "text": consent,
                        "policy_url": "https://x.example/p", "policy_version": "1",
                        "accept": text("Yes"), "decline": text("No"), "declined": "end",
                        "next": "contact"}
    steps["contact"] = {"kind": "contact", "next": "end"}
    steps["end"] = {"kind": "end", "text": text("Bye")}
    return {"id": "big", "version": 1, "title": text("Big"), "languages": ["ru", "uk", "en"],
            "start": "q0", "discount": {"per_answer": 1, "max": 20}, "steps": steps,
            "operator": {"company": "Bench Ltd", "contact": "privacy@bench.example"},
            "qualification": {"target": "'t3' in tags",
                              "temperature": {"hot": "score > 600", "warm": "score > 300"}}}


def bench_lint(size: int = 500, repeats: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text(yaml.safe_dump(generated_flow(size), allow_unicode=True),
                        encoding="utf-8")
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            flow, problems = read_flow(path)
            seconds.append(time.perf_counter() - started)
        assert flow is not None and not problems, problems[:3]
        kib = path.stat().st_size / 1024
    print(f"lint: a generated flow of {size} steps ({kib:.0f} KiB of YAML), load + lint: "
          f"median {statistics.median(seconds):.3f} s, best {min(seconds):.3f} s "
          f"over {repeats} runs (target: < 1 s)")


if __name__ == "__main__":
    bench_engine()
    bench_typed_step()
    bench_lint()
