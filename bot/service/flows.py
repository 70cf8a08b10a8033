"""The flows the bot runs: the latest version of each from LEADBOT_FLOWS_DIR, and any older
version a conversation is pinned to, from the snapshot the database keeps of every version."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings
from dialogs.format.loader import load_flows
from dialogs.format.schema import Flow
from storage.models import FlowVersion
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnableFlow:
    flow: Flow
    base_dir: Path  # where its files (PDFs...) are


class FlowRegistry:
    def __init__(self, latest: dict[str, RunnableFlow]) -> None:
        self.latest = latest
        self._pinned: dict[tuple[str, int], RunnableFlow] = {
            (f.flow.id, f.flow.version): f for f in latest.values()}

    @classmethod
    def from_dir(cls, folder: Path, operator: dict[str, object] | None = None) -> FlowRegistry:
        """Raises FlowError (file, line, step, field) for any broken flow. `operator`: the
        settings that override each flow's `operator` (company, contact, retention_days)."""
        loaded = load_flows([folder])
        overrides = {k: v for k, v in (operator or {}).items() if v is not None}
        return cls({flow_id: RunnableFlow(
            entry.flow.model_copy(update={"operator": entry.flow.operator.model_copy(
                update=overrides)}) if overrides else entry.flow,
            entry.path.parent.resolve()) for flow_id, entry in loaded.items()})

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowRegistry:
        return cls.from_dir(settings.flows_dir, {
            "company": settings.company_name, "contact": settings.company_contact,
            "retention_days": settings.retention_days})

    async def snapshot(self, uow: UnitOfWork) -> None:
        """Remember every version that runs; warn when a version changed without a bump."""
        for runnable in self.latest.values():
            flow = runnable.flow
            definition = flow.model_dump(mode="json")
            digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
            stored = await uow.flow_versions.get(flow.id, flow.version)
            if stored is None:
                uow.flow_versions.add(FlowVersion(flow_id=flow.id, version=flow.version,
                                                  digest=digest, definition=definition,
                                                  base_dir=str(runnable.base_dir)))
            elif stored.digest != digest:
                log.warning("flow %s changed but its version is still %s: conversations in "
                            "progress now run the new text; raise `version` next time",
                            flow.id, flow.version)
                stored.digest, stored.definition = digest, definition

    async def pinned(self, uow: UnitOfWork, flow_id: str, version: int) -> RunnableFlow | None:
        key = (flow_id, version)
        if key not in self._pinned:
            stored = await uow.flow_versions.get(flow_id, version)
            if stored is None:
                return None
            self._pinned[key] = RunnableFlow(Flow.model_validate(stored.definition),
                                             Path(stored.base_dir))
        return self._pinned[key]
