"""Checks for a flow's nurture: message and sequence ids unique (follow-ups included),
button data within Telegram's 64 bytes, files next to the flow, quiet hours and the time
zone readable. Texts in every language and `when` conditions are checked with the rest
(texts.py, expressions.py); delays are parsed by the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FilePath

from dialogs.engine import callback
from dialogs.format.schema import Flow
from dialogs.format.yamlsource import Path
from dialogs.rules.nurture import parse_quiet, zone_named

Found = tuple[Path, str]


def check_nurture(flow: Flow) -> Iterator[Found]:
    seen: set[str] = set(flow.steps)  # a message id is a key of its own: not a step's too
    for index, follow_up in enumerate(flow.follow_ups):
        if follow_up.id in seen:
            yield ("follow_ups", index, "id"), f"duplicate follow-up id '{follow_up.id}'"
        seen.add(follow_up.id)
    sequences: set[str] = {f.id for f in flow.follow_ups}
    nurture = flow.nurture
    for s_index, sequence in enumerate(nurture.sequences):
        base: Path = ("nurture", "sequences", s_index)
        if sequence.id in sequences:
            yield (*base, "id"), f"duplicate sequence id '{sequence.id}'"
        sequences.add(sequence.id)
        for m_index, message in enumerate(sequence.messages):
            where: Path = (*base, "messages", m_index)
            if message.id in seen:
                yield (*where, "id"), (f"duplicate message id '{message.id}' (ids of steps, "
                                       "follow-ups and messages must all differ)")
            seen.add(message.id)
            options: set[str] = set()
            for o_index, option in enumerate(message.question):
                if option.id in options:
                    yield (*where, "question", o_index, "id"), (
                        f"duplicate option id '{option.id}'")
                options.add(option.id)
            step = callback.NURTURE_STEP + message.id
            for option_id in [*options, callback.FILE]:
                data = callback.pack(flow.id, flow.version, step, option_id)
                if len(data.encode("utf-8")) > callback.MAX_CALLBACK_BYTES:
                    yield (*where, "id"), (
                        f"button data '{data}' is over Telegram's "
                        f"{callback.MAX_CALLBACK_BYTES} bytes (shorten the flow, message or "
                        "option id)")
                    break
    if nurture.quiet_hours is not None:
        try:
            parse_quiet(nurture.quiet_hours)
        except ValueError as error:
            yield ("nurture", "quiet_hours"), str(error)
    if nurture.timezone is not None and zone_named(nurture.timezone) is None:
        yield ("nurture", "timezone"), (f"unknown time zone '{nurture.timezone}' "
                                        "(like Europe/Moscow)")
    if nurture.reminder is not None:
        data = callback.pack(flow.id, flow.version, max(flow.steps, key=len), callback.RESUME)
        if len(data.encode("utf-8")) > callback.MAX_CALLBACK_BYTES:
            yield ("nurture", "reminder"), (f"the Continue button's data '{data}' is over "
                                            f"Telegram's {callback.MAX_CALLBACK_BYTES} bytes")


def check_nurture_files(flow: Flow, base_dir: FilePath) -> Iterator[Found]:
    for s_index, sequence in enumerate(flow.nurture.sequences):
        for m_index, message in enumerate(sequence.messages):
            if message.file is None:
                continue
            files = message.file.file
            named = {"": files} if isinstance(files, str) else files
            for language, name in named.items():
                if not (base_dir / name).is_file():
                    path: Path = ("nurture", "sequences", s_index, "messages", m_index, "file",
                                  "file", *((language,) if language else ()))
                    yield path, f"file '{name}' not found next to the flow ({base_dir})"
