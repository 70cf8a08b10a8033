"""Tracking links' rules, one set for LEADBOT_LINKS_FILE (read at start, a broken file
stops it with one line naming the field) and `leadbot links add` (bot/cli/links.py): a
name for `/go/<name>`, a flow (or an A/B experiment's name) the bot knows, a source and
an optional campaign. The rows are storage/work/tracking.py's.

The file:

    links:
      vk_autumn:            # /go/vk_autumn
        flow: demo
        source: vk
        campaign: autumn_sale
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import yaml

from dialogs.format.yamlsource import parse_yaml
from storage.schema.money import TrackingLink
from storage.work.tracking import NAME

SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # as a deep link's FLOW__SOURCE carries it
CAMPAIGN_LENGTH = 64
FIELDS = ("flow", "source", "campaign")


class LinkError(ValueError):
    """A link that cannot be made: one line, naming the field."""


def checked(name: str, flow: str, source: str, campaign: str | None,
            flows: Collection[str], where: str = "") -> TrackingLink:
    """A link by the rules, or LinkError saying which field is wrong and why."""
    if not NAME.fullmatch(name):
        raise LinkError(f"{where}name {name!r}: 1 to 32 characters of A-Z a-z 0-9 _ - "
                        f"(it is the path of /go/NAME)")
    if flow not in flows:
        raise LinkError(f"{where}flow {flow!r}: no such flow or experiment (known: "
                        f"{', '.join(sorted(flows)) or 'none'})")
    if not SOURCE.fullmatch(source):
        raise LinkError(f"{where}source {source!r}: 1 to 64 characters of A-Z a-z 0-9 _ -")
    if campaign is not None:
        campaign = campaign.strip()  # as the spend import strips its cells: one group
        if not campaign or len(campaign) > CAMPAIGN_LENGTH or not campaign.isprintable():
            raise LinkError(f"{where}campaign {campaign!r}: 1 to {CAMPAIGN_LENGTH} "
                            f"printable characters")
    return TrackingLink(name=name, flow_id=flow, source=source, campaign=campaign,
                        declared=True)


def from_file(path: Path, flows: Collection[str]) -> list[TrackingLink]:
    """The links of LEADBOT_LINKS_FILE; LinkError in one line naming the file and field."""
    label = f"LEADBOT_LINKS_FILE {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise LinkError(f"{label}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise LinkError(f"{label}: not UTF-8 text (save it as UTF-8)") from None
    try:
        parsed = parse_yaml(text)  # the flows' parser: alias bombs and deep nesting refused
    except yaml.YAMLError as error:
        raise LinkError(f"{label}: not YAML: {str(error).splitlines()[0]}") from None
    if parsed.duplicates:
        where, line = parsed.duplicates[0]
        raise LinkError(f"{label}: line {line}: '{where[-1]}' is written twice")
    data = parsed.data
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"links"}:
        raise LinkError(f"{label}: the top level must be `links:` and nothing else")
    links = data.get("links") or {}
    if not isinstance(links, dict):
        raise LinkError(f"{label}: links: a mapping of NAME: {{flow, source, campaign}}")
    found = []
    for name, fields in links.items():
        shown = str(name) if str(name).isprintable() else repr(str(name))
        where = f"{label}: links.{shown}: "  # one line, even for a name with a newline
        if not isinstance(fields, dict):
            raise LinkError(f"{where}flow and source are needed (and campaign may be)")
        unknown = sorted(set(map(str, fields)) - set(FIELDS))
        if unknown:
            raise LinkError(f"{where}{unknown[0]}: unknown field (fields: "
                            f"{', '.join(FIELDS)})")
        for field in ("flow", "source"):
            if not isinstance(fields.get(field), str):
                raise LinkError(f"{where}{field}: needed, as text")
        campaign = fields.get("campaign")
        if campaign is not None and not isinstance(campaign, str | int):
            raise LinkError(f"{where}campaign: text")
        found.append(checked(str(name), fields["flow"], fields["source"],
                             None if campaign is None else str(campaign), flows, where))
    return found


def full_url(public_url: str | None, name: str) -> str:
    """`https://bot.example.com/go/NAME`, or the path alone without LEADBOT_PUBLIC_URL."""
    path = f"/go/{name}"
    return public_url.rstrip("/") + path if public_url else path


def known_flows(flows: object) -> set[str]:
    """What a link's flow may name: a flow, a variant's flow, an experiment's name
    (bot/service/flows.py FlowRegistry)."""
    return set(flows.latest) | set(flows.experiments)  # type: ignore[attr-defined]


def declared_links(settings: object, flows: object) -> list[TrackingLink]:
    """LEADBOT_LINKS_FILE's links (none when it is unset); LinkError in one line."""
    path = getattr(settings, "links_file", None)
    return [] if path is None else from_file(Path(path), known_flows(flows))
