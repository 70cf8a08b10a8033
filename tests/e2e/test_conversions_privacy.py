"""The privacy side of conversions (issue 29), through the real bot and the fake Bot API on
a SQLite file: the ad platforms named as recipients (the consent text, /privacy, the
linter at start), /forget stopping what is not sent yet, /mydata listing what was sent where.

The delivery rows are the real ones `note` writes in the lead's transaction; only their
window is set far off (no platform is reached from here: sending is the worker's, tested
with the fake platforms), and a worker's outcomes are written as the worker writes them."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import StartupError, bootstrap
from dialogs.format.problems import FlowError
from dialogs.format.scenarios import TAP_WORDS
from storage.deliveries import rows as crm
from storage.schema.tables import CrmDelivery, utcnow
from tests.conftest import FLOWS_DIR
from tests.e2e.conftest import bot_running, settings_for
from tests.e2e.test_privacy import EMAIL, NAME, PHONE, checklist_lead, confirm, exports
from tests.e2e.traces import Person, traces

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing here leaves the machine
GOALS = {"metrica": {"lead": "leadbot_lead", "hot": "leadbot_hot"},
         "meta": {"lead": "Lead", "hot": "QualifiedLead"},
         "ga4": {"lead": "generate_lead"}}
CONVERSIONS = f"""\
metrica: {{counter: 12345678, api_url: "{NOWHERE}", goals: {GOALS["metrica"]}}}
meta: {{pixel: "1234567890", contacts: true, api_url: "{NOWHERE}", goals: {GOALS["meta"]}}}
ga4: {{measurement_id: G-TEST1234, api_url: "{NOWHERE}", goals: {GOALS["ga4"]}}}
"""
SECRETS = {"metrica_token": "m" * 20, "meta_token": "t" * 20, "ga4_api_secret": "g" * 20}
CONSENT_ADS = {
    "ru": "Рекламные площадки узнают, как прошла заявка (например, что она стала горячей или "
          "закончилась покупкой), без ваших ответов, чтобы мы видели, какая реклама "
          "работает: Yandex Metrica, Meta (с телефоном и e-mail в виде хеша), "
          "Google Analytics.",
    "uk": "Рекламні майданчики дізнаються, як пройшла заявка (наприклад, що вона стала "
          "гарячою чи завершилася покупкою), без ваших відповідей, щоб ми бачили, яка "
          "реклама працює: Yandex Metrica, Meta (з телефоном і e-mail у вигляді хешу), "
          "Google Analytics.",
    "en": "Ad platforms learn how your request went (say, that it became a hot lead or a "
          "sale), without your answers, so we can see which ads work: Yandex Metrica, "
          "Meta (with your phone and email as a hash), Google Analytics."}
PRIVACY_ADS = {
    "ru": "О квалифицированной заявке и о продаже мы сообщаем рекламным площадкам Yandex "
          "Metrica, Meta, Google Analytics, чтобы оценивать рекламу (Meta — с вашим "
          "телефоном и e-mail в виде хеша); то, что площадка уже получила, остаётся у неё по "
          "её правилам хранения, а /forget останавливает всё, что ещё не отправлено.",
    "uk": "Про кваліфіковану заявку й продаж ми повідомляємо рекламним майданчикам Yandex "
          "Metrica, Meta, Google Analytics, щоб оцінювати рекламу (Meta — з вашим телефоном і "
          "e-mail у вигляді хешу); те, що майданчик уже отримав, залишається в нього за його "
          "правилами зберігання, а /forget зупиняє все, що ще не надіслано.",
    "en": "Qualified-lead and sale events go to the ad platforms Yandex Metrica, Meta, "
          "Google Analytics to measure our ads (Meta with your phone and email as a hash); "
          "what a platform has already received stays with it under its own retention "
          "rules, and /forget stops anything not yet sent."}


@pytest.fixture(autouse=True)
def no_targets():
    yield
    crm.configure(())


def conversions_file(folder: Path, text: str = CONVERSIONS) -> Path:
    path = folder / "conversions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@asynccontextmanager
async def with_conversions(telegram, folder: Path, **extra):
    async with bot_running(telegram, f"sqlite:///{folder}/bot.db", **SECRETS,
                           conversions_file=conversions_file(folder), **extra) as running:
        # the real rows of the real goals, due long after the test: nothing is sent
        crm.configure([crm.Spec(name, frozenset(), goals, window=10.0 ** 9)
                       for name, goals in GOALS.items()])
        yield running


async def conversion_rows(running) -> list[CrmDelivery]:
    async with running.app.sessions() as session:
        return list((await session.execute(select(CrmDelivery).where(
            CrmDelivery.target.in_(GOALS)).order_by(CrmDelivery.id))).scalars())


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
async def test_the_consent_text_and_privacy_name_the_ad_platforms(telegram, tmp_path,
                                                                  language):
    """GDPR Art. 13(1)(e): with conversions configured, the consent text's {recipients}
    names each platform and says which gets the contacts hashed; /privacy says what they
    are told, that what one already received stays with it, and what /forget stops."""
    async with with_conversions(telegram, tmp_path) as running:
        prospect = running.prospect(7101, language)
        await prospect.start("renovation-checklist")
        for option in ("continue", "planning", "quarter", "maybe"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        shown = prospect.said()[-1]
        assert CONSENT_ADS[language] in shown, shown
        assert "CRM" not in shown and "12345678" not in shown  # no CRM; no account id
        await prospect.command("/privacy")
        said = prospect.said()[-1]
        assert PRIVACY_ADS[language] in said, said
    async with bot_running(telegram, f"sqlite:///{tmp_path}/other.db") as running:
        prospect = running.prospect(7102, language)  # no conversions: not a word of them
        await prospect.command("/privacy")
        assert "/forget" in prospect.said()[-1]
        assert PRIVACY_ADS[language][:40] not in prospect.said()[-1]


async def test_forget_skips_the_conversions_not_sent_and_keeps_what_went(telegram,
                                                                         tmp_path):
    """/forget: the person's pending conversions become `skipped` (`erased`) in the
    erasure's transaction; one already sent stays `sent` (the platform has it: /privacy
    says so); crm_deliveries, like every other table, holds no phone or email after."""
    async with with_conversions(telegram, tmp_path) as running:
        prospect = running.prospect(7103, "en")
        await checklist_lead(prospect)
        rows = await conversion_rows(running)
        assert {(r.target, r.event, r.status) for r in rows} >= {
            ("metrica", "lead", "pending"), ("meta", "lead", "pending"),
            ("ga4", "lead", "pending")}
        went = next(r.id for r in rows if r.target == "ga4")
        async with running.app.sessions() as session:  # as the worker marks a sent one
            await session.execute(update(CrmDelivery).where(CrmDelivery.id == went).values(
                status="sent", sent_at=utcnow()))
            await session.commit()
        await confirm(prospect, "forget")
        after = {r.id: (r.status, r.error) for r in await conversion_rows(running)}
        assert after.pop(went) == ("sent", None)
        assert after and set(after.values()) == {("skipped", "erased")}
        assert await traces(Person(PHONE, EMAIL, (NAME,)), running.app.engine, "") == {}
    with sqlite3.connect(tmp_path / "bot.db") as connection:
        stored = connection.execute("SELECT * FROM crm_deliveries").fetchall()
    assert stored and not any(secret in str(row) for row in stored
                              for secret in (PHONE[-9:], EMAIL, NAME.split()[0]))


async def test_mydata_lists_the_conversions_platform_goal_status_and_date(telegram,
                                                                         tmp_path):
    """/mydata: each conversion as platform (display name), goal, status and date, and
    nothing else (no attempts, no error, no ids); the CRM list holds no conversion."""
    async with with_conversions(telegram, tmp_path) as running:
        prospect = running.prospect(7104, "en")
        await checklist_lead(prospect)
        rows = {r.target: r for r in await conversion_rows(running) if r.event == "lead"}
        sent = utcnow() - timedelta(minutes=5)
        outcomes = {"metrica": {"status": "sent", "sent_at": sent},
                    "meta": {"status": "accepted", "sent_at": sent},
                    "ga4": {"status": "skipped", "error": "no_click", "attempts": 1}}
        async with running.app.sessions() as session:  # as the worker would have it
            for target, values in outcomes.items():
                await session.execute(update(CrmDelivery).where(
                    CrmDelivery.id == rows[target].id).values(**values))
            await session.commit()
        await confirm(prospect, "mydata")
        [data] = exports(running, 7104)
        caption = running.telegram.sent(7104, "sendDocument")[-1].params["caption"]
    assert 'What the ad platforms were told about your request: under "conversions".' \
        in caption
    listed = {(c["platform"], c["goal"]): c for c in data["conversions"]}
    assert all(set(c) == {"platform", "goal", "status", "date"} for c in listed.values())
    assert listed["Yandex Metrica", "leadbot_lead"]["status"] == "sent"
    assert listed["Meta", "Lead"]["status"] == "accepted"
    assert listed["Google Analytics", "generate_lead"]["status"] == "skipped"
    assert listed["Meta", "Lead"]["date"][:16] == sent.isoformat()[:16]
    skipped = listed["Google Analytics", "generate_lead"]["date"]
    assert skipped[:16] == rows["ga4"].created_at.isoformat()[:16]  # not sent: when noted
    assert len(data["conversions"]) == len(await conversion_rows(running))
    assert data["crm_deliveries"] == []  # no CRM configured: no conversion listed there


async def test_a_consent_text_not_naming_meta_refuses_the_start(telegram, tmp_path):
    """At start as in `leadbot lint`: Meta given contacts and a consent text that names it
    nowhere (no {recipients}) stops the bot, naming the file, line, step and field; a broken
    conversions file stops it with one line naming the field."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    flow = flows / "renovation-checklist.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace(
        "Our managers see them. {recipients} ", "Our managers and advertising see them. "),
        encoding="utf-8")
    line = next(i for i, row in enumerate(flow.read_text().splitlines(), 1)
                if "advertising see them" in row)
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", flows_dir=flows,
                            conversions_file=conversions_file(tmp_path), **SECRETS)
    with pytest.raises(FlowError) as caught:
        await bootstrap(settings)
    assert len(caught.value.problems) == 1, caught.value
    assert (f"{flow}:{line}: step 'consent', field 'text.en': the 'en' consent text must "
            "name by name who gets the phone and email (hashed): Meta") in str(caught.value)
    conversions_file(tmp_path, CONVERSIONS.replace("contacts: true", "contacts: maybe"))
    with pytest.raises(StartupError, match=r"LEADBOT_CONVERSIONS_FILE .*: meta\.contacts"):
        await bootstrap(settings)
