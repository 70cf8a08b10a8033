"""bootstrap builds the ad platforms' targets (LEADBOT_CONVERSIONS_FILE) beside the CRM's:
one worker for all of them, started when either is set; the delivery rows written for
each; a platform without its secret stops the start naming the setting."""

from __future__ import annotations

import pytest

from bot.app import StartupError, bootstrap
from storage.deliveries import rows
from tests.bot.test_conversions_probe import SECRETS, conversions_file
from tests.conftest import fast_limits
from tests.databases import migrated_sqlite
from tests.e2e.conftest import settings_for

SETTINGS = {k.removeprefix("LEADBOT_").lower(): v for k, v in SECRETS.items()}


@pytest.fixture
async def url(tmp_path):
    return await migrated_sqlite(tmp_path / "bot.db")


async def started(telegram, url, **extra):
    app = await bootstrap(settings_for(telegram, url, **extra), limits=fast_limits())
    try:
        return (None if app.crm is None else sorted(app.crm.targets), rows.targets(),
                app.inbound)
    finally:
        await app.close()
        rows.configure(())


async def test_the_ad_platforms_alone_start_the_worker(telegram, tmp_path, url):
    path = conversions_file(tmp_path, *["http://127.0.0.1:9"] * 3)
    workers, noted, _ = await started(telegram, url, conversions_file=path, **SETTINGS)
    assert workers == ["ga4", "meta", "metrica"]
    assert noted == ("metrica", "meta", "ga4")


async def test_the_crms_and_the_ad_platforms_share_the_worker(telegram, tmp_path, url):
    path = conversions_file(tmp_path, *["http://127.0.0.1:9"] * 3)
    path.write_text(path.read_text().split("meta:")[0])  # metrica alone
    workers, noted, _ = await started(
        telegram, url, conversions_file=path, metrica_token="t",
        bitrix24_webhook_url="https://b24.example/rest/1/k/")
    assert workers == ["bitrix24", "metrica"] and noted == ("bitrix24", "metrica")
    assert await started(telegram, url) == (None, (), None)  # neither: no worker


async def test_a_platform_without_its_secret_refuses_to_start(telegram, tmp_path, url):
    path = conversions_file(tmp_path, *["http://127.0.0.1:9"] * 3)
    settings = settings_for(telegram, url, conversions_file=path,
                            **{**SETTINGS, "ga4_api_secret": None})
    with pytest.raises(StartupError) as refused:
        await bootstrap(settings)
    assert str(refused.value) == (f"LEADBOT_CONVERSIONS_FILE {path} names ga4, but "
                                  "LEADBOT_GA4_API_SECRET is not set")
