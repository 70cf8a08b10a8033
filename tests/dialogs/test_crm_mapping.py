"""The CRM field mapping file (LEADBOT_CRM_FILE): what it accepts, and a clear line naming
the field for what it refuses."""

from __future__ import annotations

import pytest

from dialogs.rules.crm import CrmMapping, CrmMappingError

STEPS = {"layout", "timing"}


def test_a_full_mapping_is_read():
    mapping = CrmMapping.from_yaml("""
bitrix24:
  fields: {layout: UF_CRM_LAYOUT}
  source_id: WEB
  currency: RUB
  stages: {hot: IN_PROCESS}
  statuses: {won: CONVERTED}
amocrm:
  fields: {timing: 512345}
  stages: {hot: {pipeline_id: 7001, status_id: 61001}}
""", "crm.yaml", STEPS)
    assert mapping.bitrix24.fields == {"layout": "UF_CRM_LAYOUT"}
    assert mapping.bitrix24.statuses == {"won": "CONVERTED"}  # given: replaces the defaults
    assert mapping.amocrm.stages["hot"].status_id == 61001
    assert mapping.amocrm.statuses["won"].status_id == 142  # amoCRM's own "won"


@pytest.mark.parametrize(("text", "message"), [
    ("bitrix24: {fields: {layout: uf_lower}}", "crm.yaml: bitrix24.fields.layout: String "
                                               "should match pattern"),
    ("bitrix24: {fields: {nowhere: UF_X}}", "crm.yaml: bitrix24.fields.nowhere: no flow has "
                                            "a step 'nowhere'"),
    ("amocrm: {stages: {boiling: {status_id: 1}}}", "crm.yaml: amocrm.stages.boiling: "
                                                    "temperatures are hot, warm, cold"),
    ("amocrm: {statuses: {sold: {status_id: 1}}}", "crm.yaml: amocrm.statuses.sold: statuses"),
    ("amocrm: {fields: {layout: -5}}", "crm.yaml: amocrm.fields.layout: Input should be "
                                       "greater than 0"),
    ("amocrm: {stages: {hot: {pipeline_id: 1}}}", "crm.yaml: amocrm.stages.hot.status_id: "
                                                  "Field required"),
    ("hubspot: {}", "crm.yaml: hubspot: Extra inputs are not permitted"),
    ("bitrix24: {currency: RUB}\nbitrix24: {currency: USD}", "crm.yaml: line 2: 'bitrix24' "
                                                              "is written twice"),
    ("bitrix24: [", "crm.yaml: not YAML"),
])
def test_a_broken_mapping_names_the_field(text, message):
    with pytest.raises(CrmMappingError) as refused:
        CrmMapping.from_yaml(text, "crm.yaml", STEPS)
    assert str(refused.value).startswith(message)
