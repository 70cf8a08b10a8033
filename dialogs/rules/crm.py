"""The CRM field mapping (LEADBOT_CRM_FILE): which answers go to which CRM fields, and the
pipeline / stage by temperature and by the lead's status. Pure: text in, a model out.

    bitrix24:
      fields: {budget: UF_CRM_BUDGET, timing: UF_CRM_TIMING}   # answer step -> lead field
      source_id: WEB                                           # SOURCE_ID of every lead
      currency: RUB                                            # of OPPORTUNITY (the price)
      stages: {hot: IN_PROCESS, warm: NEW, cold: NEW}          # STATUS_ID by temperature
      statuses: {claimed: IN_PROCESS, won: PROCESSED, lost: JUNK}   # by leadbot's status
    amocrm:
      fields: {budget: 512345}                                 # answer step -> field id
      stages: {hot: {pipeline_id: 7001, status_id: 61001}}     # by temperature
      statuses: {won: {status_id: 142}, lost: {status_id: 143}}

A broken file stops the start, naming the field (`CrmMappingError`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from dialogs.format.problems import plain
from dialogs.format.yamlsource import parse_yaml

TEMPERATURES = ("hot", "warm", "cold")
STATUSES = ("handoff", "claimed", "contacted", "meeting", "won", "lost", "nurture", "closed")
BitrixField = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")]
Step = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class CrmMappingError(ValueError):
    """A mapping file that cannot be used: one message naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bitrix24Mapping(_Strict):
    fields: dict[Step, BitrixField] = {}
    source_id: BitrixField | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    stages: dict[str, BitrixField] = {}
    statuses: dict[str, BitrixField] = {
        "claimed": "IN_PROCESS", "contacted": "IN_PROCESS", "meeting": "IN_PROCESS",
        "won": "PROCESSED", "lost": "JUNK"}


class AmoStage(_Strict):
    pipeline_id: Annotated[int, Field(gt=0)] | None = None
    status_id: Annotated[int, Field(gt=0)]


class AmoCrmMapping(_Strict):
    fields: dict[Step, Annotated[int, Field(gt=0)]] = {}
    stages: dict[str, AmoStage] = {}
    # amoCRM's own ids: 142 is "won" and 143 "lost" in every pipeline
    statuses: dict[str, AmoStage] = {"won": AmoStage(status_id=142),
                                     "lost": AmoStage(status_id=143)}


class CrmMapping(_Strict):
    bitrix24: Bitrix24Mapping = Bitrix24Mapping()
    amocrm: AmoCrmMapping = AmoCrmMapping()

    @classmethod
    def from_yaml(cls, text: str, source: str, steps: Collection[str] = ()) -> CrmMapping:
        """`steps`: every step id of the flows, to refuse a field mapped from none."""
        try:
            parsed = parse_yaml(text)
        except yaml.YAMLError as error:
            raise CrmMappingError(f"{source}: not YAML: {error}") from None
        if parsed.duplicates:
            where, line = parsed.duplicates[0]
            raise CrmMappingError(f"{source}: line {line}: '{where[-1]}' is written twice")
        try:
            mapping = cls.model_validate(parsed.data or {})
        except ValidationError as error:
            item = error.errors()[0]
            where = ".".join(str(part) for part in item["loc"]) or "top level"
            raise CrmMappingError(f"{source}: {where}: {plain(item)}") from None
        for name, crm in (("bitrix24", mapping.bitrix24), ("amocrm", mapping.amocrm)):
            for key in crm.stages:
                if key not in TEMPERATURES:
                    raise CrmMappingError(f"{source}: {name}.stages.{key}: temperatures are "
                                          f"{', '.join(TEMPERATURES)}")
            for key in crm.statuses:
                if key not in STATUSES:
                    raise CrmMappingError(f"{source}: {name}.statuses.{key}: statuses are "
                                          f"{', '.join(STATUSES)}")
            for step in crm.fields:
                if steps and step not in steps:
                    raise CrmMappingError(f"{source}: {name}.fields.{step}: no flow has a "
                                          f"step '{step}'")
        return mapping
