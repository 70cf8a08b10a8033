"""The flows the bot runs: the latest version of each from LEADBOT_FLOWS_DIR, and any older
version a conversation is pinned to, from the snapshot the database keeps of every version.

Entries: what a deep link or the menu names. A flow outside any experiment is entered by its
id; an A/B experiment by its name, or by any of its variants' ids (a link to one variant
cannot bypass the split), and the prospect gets their variant (`variant_for`)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.deliveries.targets import named_from, recipients_from
from bot.settings import Settings
from dialogs.format.loader import load_flows
from dialogs.format.schema import Flow, Recipient
from dialogs.rules.experiments import assign
from storage.schema.tables import FlowVersion
from storage.work.uow import UnitOfWork

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
        # experiment name -> {variant: its flow}; the loader has checked them
        self.experiments: dict[str, dict[str, RunnableFlow]] = {}
        for runnable in latest.values():
            if runnable.flow.experiment is not None:
                self.experiments.setdefault(runnable.flow.experiment.name, {})[
                    runnable.flow.experiment.variant] = runnable

    def entries(self) -> list[tuple[str, RunnableFlow]]:
        """What the menu and `leadbot links` offer: each plain flow, and each experiment
        once (its first variant's flow for the title, which every variant shares)."""
        found = {flow_id: runnable for flow_id, runnable in self.latest.items()
                 if runnable.flow.experiment is None}
        for name, variants in self.experiments.items():
            found[name] = variants[min(variants)]
        return sorted(found.items())

    def knows(self, name: str | None) -> bool:
        return name is not None and (name in self.latest or name in self.experiments)

    def experiment_of(self, name: str) -> str | None:
        """The experiment a deep link or menu name enters, if any."""
        if name in self.experiments:
            return name
        runnable = self.latest.get(name)
        return runnable.flow.experiment.name if runnable and runnable.flow.experiment else None

    def variant_for(self, experiment: str, user_id: int, previous: str | None = None
                    ) -> RunnableFlow:
        """The variant's flow for this prospect: the one they had before (`previous`) while
        it is still in the experiment, else by the stable hash of their id and the weights."""
        variants = self.experiments[experiment]
        if previous not in variants:
            previous = assign(experiment, user_id, [
                (name, r.flow.experiment.weight) for name, r in variants.items()
                if r.flow.experiment is not None])
        return variants[previous]

    @classmethod
    def from_dir(cls, folder: Path, operator: dict[str, object] | None = None,
                 recipients: Sequence[tuple[str, str]] = (),
                 named: Sequence[str] = ()) -> FlowRegistry:
        """Raises FlowError (file, line, step, field) for any broken flow. `operator`: the
        settings that override each flow's `operator` (company, contact, retention_days);
        `recipients`: (category, name) of each configured CRM and ad platform, added to
        each flow's `operator.recipients` (its consent texts must name them: the linter
        says so); `named`: those of them given the phone and email (hashed), which every
        consent text must name by name."""
        loaded = load_flows([folder], sorted({category for category, _ in recipients}),
                            named)
        overrides = {k: v for k, v in (operator or {}).items() if v is not None}

        def operated(flow: Flow) -> Flow:
            if not overrides and not recipients:
                return flow
            added = tuple(Recipient(category=c, name=n, contacts=n in named)
                          for c, n in recipients)
            return flow.model_copy(update={"operator": flow.operator.model_copy(update={
                **overrides, "recipients": flow.operator.recipients + added})})

        return cls({flow_id: RunnableFlow(operated(entry.flow), entry.path.parent.resolve())
                    for flow_id, entry in loaded.items()})

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowRegistry:
        return cls.from_dir(settings.flows_dir, {
            "company": settings.company_name, "contact": settings.company_contact,
            "retention_days": settings.retention_days}, recipients_from(settings),
            named_from(settings))

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
