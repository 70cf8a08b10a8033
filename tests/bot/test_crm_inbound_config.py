"""The inbound CRM settings, checked before the bot starts: each mistake one line naming
the setting; none set, no routes."""

from __future__ import annotations

import pytest

from bot.deliveries.crm.inbound.config import inbound_from
from bot.deliveries.targets import CrmConfigError, targets_from
from bot.settings import Settings

LONG = "x" * 24
BITRIX = {"bitrix24_webhook_url": "https://portal.bitrix24.ru/rest/1/key/"}
AMO = {"amocrm_url": "https://sub.amocrm.ru", "amocrm_token": "token"}


def plan(**values):
    settings = Settings(bot_token="123:abc", **values)
    return inbound_from(settings, targets_from(settings))


@pytest.mark.parametrize(("values", "line"), [
    ({"bitrix24_app_token": "t"}, "LEADBOT_BITRIX24_APP_TOKEN needs "
                                   "LEADBOT_BITRIX24_WEBHOOK_URL"),
    ({"amocrm_hook_secret": LONG}, "LEADBOT_AMOCRM_HOOK_SECRET needs LEADBOT_AMOCRM_URL"),
    ({"amocrm_hook_secret": "short", **AMO}, "LEADBOT_AMOCRM_HOOK_SECRET: at least 24"),
    ({"inbound_secret": "short"}, "LEADBOT_INBOUND_SECRET: at least 24"),
])
def test_a_setting_that_cannot_work_stops_the_start(values, line):
    with pytest.raises(CrmConfigError, match=line):
        plan(**values)


def test_none_set_means_no_routes_and_each_turns_on_its_own():
    assert plan(**BITRIX, **AMO) is None
    found = plan(bitrix24_app_token="t", **BITRIX, inbound_secret=LONG)
    assert found.bitrix is not None and found.amo is None and found.events_secret == LONG
    assert plan(amocrm_hook_secret=LONG, **AMO).amo is not None
