"""Consent and personal data through Telegram: the real bot against the fake Bot
API, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, select, text
from sqlalchemy.types import JSON

from bot.app import StartupError
from bot.jobs.followups import NurtureConfig, deliver_due
from bot.jobs.retention import anonymise_expired
from bot.logsafe import configure_logging
from dialogs.format.scenarios import TAP_WORDS
from storage.schema import sealing as crypto
from storage.schema.tables import (
    Consent,
    Conversation,
    Event,
    FollowUp,
    Handoff,
    Lead,
    OutboxMessage,
    SQLModel,
    utcnow,
)
from tests.conftest import FLOWS_DIR
from tests.e2e.conftest import bot_running
from tests.e2e.traces import Person, traces

PHONE, EMAIL, NAME = "+380671234567", "olena.k@gmail.com", "Olena Kovalchuk"

ANYTIME = NurtureConfig(quiet="off", stale=timedelta(0))  # not about hours here
SEQUENCES = select(FollowUp).where(FollowUp.kind == "sequence")  # not the reminder


async def checklist_lead(prospect, marketing: bool = True, phone: str | None = PHONE) -> None:
    """The renovation checklist to the end: name, email, phone (optional), nurtured."""
    await prospect.start("renovation-checklist__ads")
    for option in ("continue", "planning", "quarter", "maybe", "agree",
                   "marketing_yes" if marketing else "marketing_no"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send(NAME)
    await prospect.send(EMAIL)
    if phone:
        await prospect.share_contact(phone)
    else:
        await prospect.send({"en": "Skip", "uk": "Пропустити", "ru": "Пропустить"}[
            prospect.language])


async def everything_stored(running) -> str:
    """Every text and JSON column of every table, as one string to search."""
    chunks = []
    async with running.app.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c.name for c in table.columns
                       if isinstance(c.type, String | Text | JSON)
                       or isinstance(getattr(c.type, "impl", None), String | Text | JSON)]
            if not columns:
                continue
            quoted = ", ".join(f'"{c}"' for c in columns)
            for row in await connection.execute(text(f"SELECT {quoted} FROM {table.name}")):
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


def exports(running, chat_id: int) -> list[dict]:
    """The /mydata files sent to a chat, parsed."""
    found = []
    for call in running.telegram.sent(chat_id, "sendDocument"):
        for value in call.params.values():
            if isinstance(value, dict) and value.get("filename", "").startswith("my-data"):
                found.append(json.loads(value["content"]))
    return found


async def confirm(prospect, command: str, answer: str = "yes") -> None:
    await prospect.command(f"/{command}")
    await prospect.tap(data=f"rights:{command}:{answer}")


async def test_a_prospect_who_declines_consent_leaves_no_personal_data(running_on_both):
    running = running_on_both
    prospect = running.prospect(7001, "uk")
    await prospect.start("kitchen-quiz__ads")
    for option in ("~go", "city", "island", "large", "veneer", "appliances", "~done",
                   "month"):
        await prospect.tap(option=option)
    await prospect.tap(option="~no")  # "Не зараз" on the consent
    await prospect.send(NAME)  # typed anyway, after declining: nothing to take it
    stored = await everything_stored(running)
    assert NAME not in stored and "Олена" not in stored  # nor the Telegram first name
    async with running.app.sessions() as session:
        leads = list((await session.execute(select(Lead))).scalars())
        consents = list((await session.execute(select(Consent))).scalars())
        declined = list((await session.execute(select(Event).where(
            Event.kind == "answer", Event.step == "consent"))).scalars())
    # counted in the funnel, anonymously
    assert [(lead.name, lead.phone, lead.email, lead.source) for lead in leads] in (
        [], [(None, None, None, "ads")])
    assert consents == [] and len(declined) == 1


async def test_consent_rows_carry_the_version_and_the_hash_of_the_text_shown(running_on_both):
    running = running_on_both
    prospect = running.prospect(7002, "en")
    await checklist_lead(prospect)
    shown = next(t for t in prospect.said() if "By pressing “I agree”" in t)
    assert "O. Kovalenko, sole trader" in shown and "365 days" in shown
    assert "/mydata" in shown and "/forget" in shown
    async with running.app.sessions() as session:
        rows = list((await session.execute(select(Consent).order_by(Consent.id))).scalars())
    assert [(r.purpose, r.granted, r.policy_version, r.language) for r in rows] == [
        ("processing", True, "2026-10", "en"), ("marketing", True, "2026-10", "en")]
    assert rows[0].text_sha256 == hashlib.sha256(shown.encode()).hexdigest()
    assert rows[0].update_id is not None
    async with running.app.engine.begin() as connection:
        with pytest.raises(Exception, match="append-only"):
            await connection.execute(text("UPDATE consents SET granted = false"))


async def test_mydata_sends_exactly_what_is_stored_only_to_its_owner(running_on_both):
    running = running_on_both
    owner, other = running.prospect(7003, "en"), running.prospect(7004, "ru")
    await checklist_lead(owner)
    await other.start("kitchen-quiz")
    await owner.command("/mydata")
    assert owner.said()[-1] == "Send you a file with all the data we hold about you?"
    assert exports(running, 7003) == []  # not before the button
    await owner.tap(data="rights:mydata:yes")
    await confirm(other, "mydata")
    [data] = exports(running, 7003)
    assert data["telegram_user_id"] == 7003
    [lead] = data["leads"]
    assert (lead["name"], lead["email"], lead["phone"]) == (NAME, EMAIL, PHONE)
    assert [c["purpose"] for c in data["consents"]] == ["processing", "marketing"]
    assert {"answer", "consent", "contact", "qualified"} <= {e["kind"] for e in data["events"]}
    assert len(data["answers"]) == 4 and len(data["follow_ups"]) == 3  # 2 + the reminder
    async with running.app.sessions() as session:
        stored = (await session.execute(select(Lead).where(Lead.user_id == 7003))).scalar_one()
    assert lead["score"] == stored.score and lead["id"] == stored.id
    # the other prospect's file holds nothing of the owner
    [theirs] = exports(running, 7004)
    assert PHONE not in json.dumps(theirs) and theirs["leads"] == []
    assert theirs["telegram_user_id"] == 7004


async def test_stop_withdraws_marketing_and_cancels_pending_marketing_at_once(running_on_both):
    running = running_on_both
    prospect = running.prospect(7005, "en")
    await checklist_lead(prospect)
    await prospect.command("/stop")
    await prospect.tap(data="rights:stop:no")  # cancel: nothing changes
    assert prospect.said()[-1] == "Cancelled, nothing changed."
    async with running.app.sessions() as session:
        assert {f.status for f in (await session.execute(SEQUENCES)).scalars()} == {
            "pending"}
    await confirm(prospect, "stop")
    assert prospect.said()[-1].startswith("Done: no more marketing messages")
    async with running.app.sessions() as session:
        follow_ups = {f.key: f.status for f in (await session.execute(SEQUENCES))
                      .scalars()}
        ledger = [(c.purpose, c.granted) for c in (await session.execute(
            select(Consent).order_by(Consent.id))).scalars()]
    assert follow_ups == {"tips": "cancelled", "how-did-it-go": "cancelled"}  # both marketing
    assert ledger == [("processing", True), ("marketing", True), ("marketing", False)]
    # due or not, nothing is sent
    assert await deliver_due(running.app.sessions, utcnow() + timedelta(days=40), ANYTIME) == 0
    await running.settle()
    assert not any(t.startswith(("7 mistakes", "How did")) for t in prospect.said())
    await confirm(prospect, "stop")  # again: nothing to stop, said so
    assert prospect.said()[-1].startswith("You are not subscribed")


async def test_every_marketing_message_carries_a_one_tap_unsubscribe(running_on_both):
    running = running_on_both
    prospect = running.prospect(7018, "uk")
    await checklist_lead(prospect)
    assert await deliver_due(running.app.sessions, utcnow() + timedelta(days=15), ANYTIME) == 1
    await running.settle()
    [message] = [c for c in running.telegram.sent(7018, "sendMessage")
                 if "rights:unsubscribe" in str(c.params.get("reply_markup"))]
    assert message.params["text"].endswith(
        "Не хочете таких повідомлень? Натисніть «Відписатися» або надішліть /stop.")
    [[button]] = message.params["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Відписатися"
    await prospect.tap(data=button["callback_data"])  # no second question
    assert prospect.said()[-1].startswith("Готово: рекламних повідомлень більше не буде")
    async with running.app.sessions() as session:
        ledger = [(c.purpose, c.granted, c.language) for c in (await session.execute(
            select(Consent).order_by(Consent.id))).scalars()]
        follow_ups = {f.key: f.status for f in (await session.execute(SEQUENCES))
                      .scalars()}
    assert ledger[-1] == ("marketing", False, "uk")
    assert follow_ups == {"how-did-it-go": "sent", "tips": "cancelled"}
    assert await deliver_due(running.app.sessions, utcnow() + timedelta(days=40), ANYTIME) == 0


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
@pytest.mark.parametrize("alias", ["/unsubscribe", "/revoke"])
async def test_unsubscribe_and_revoke_are_stop(running, alias, language):
    prospect = running.prospect(7019, language)
    await checklist_lead(prospect)
    await prospect.command(alias)
    assert prospect.said()[-1].startswith({"ru": "Отказаться от рекламной рассылки",
                                           "uk": "Відмовитися від рекламної розсилки",
                                           "en": "Stop marketing messages"}[language])
    await prospect.tap(data="rights:stop:yes")
    async with running.app.sessions() as session:
        last = (await session.execute(select(Consent).order_by(Consent.id.desc()).limit(1))
                ).scalar_one()
    assert (last.purpose, last.granted) == ("marketing", False)


async def test_forget_leaves_no_trace_of_phone_or_email_anywhere(running_on_both):
    running = running_on_both
    prospect = running.prospect(7006, "en")
    await checklist_lead(prospect)
    stored = await everything_stored(running)
    assert PHONE in stored and EMAIL in stored and NAME in stored  # the search can see them
    # a message queued but not yet sent carries the name: erased with the rest
    async with running.app.sessions() as session:
        session.add(OutboxMessage(chat_id=7006, method="sendMessage", marketing=True,
                                  payload={"chat_id": 7006, "text": f"{NAME}, hello"},
                                  not_before=utcnow() + timedelta(days=1)))
        await session.commit()
    # (it holds the chat's queue until it is erased: settle() would wait for it)
    await prospect.push({"message": prospect.message(text="/forget", entities=[
        {"type": "bot_command", "offset": 0, "length": 7}])}, settle=False)
    await prospect.tap(data="rights:forget:yes")
    assert prospect.said()[-1].startswith("Done: your name, phone, email")
    stored = await everything_stored(running)
    for secret in (PHONE, PHONE.lstrip("+"), EMAIL, NAME):
        assert secret not in stored
    assert await traces(Person(PHONE, EMAIL, (NAME,)), running.app.engine, "") == {}
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead))).scalar_one()
        receipt = (await session.execute(select(Event).where(Event.kind == "erased"))
                   ).scalar_one()
        ledger = [(c.purpose, c.granted) for c in (await session.execute(
            select(Consent).order_by(Consent.id))).scalars()]
        pending = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.status == "pending"))).scalars().all()
        follow_ups = {f.status for f in (await session.execute(SEQUENCES)).scalars()}
    # an anonymised lead stays for the funnel
    assert (lead.temperature, lead.outcome, lead.source) == ("warm", "nurture", "ads")
    assert lead.erased_at is not None and lead.score is not None
    assert receipt.data["reason"] == "request" and receipt.data["leads"] == 1
    assert ledger[-2:] == [("processing", False), ("marketing", False)]
    assert pending == [] and follow_ups == {"cancelled"}
    # the bot asks for consent again before taking anything new
    await prospect.start("renovation-checklist")
    for option in ("continue", "planning", "quarter", "maybe"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    assert "By pressing “I agree”" in prospect.said()[-1]


async def test_forget_leaves_nothing_in_the_sqlite_files_while_the_bot_runs(running,
                                                                           tmp_path):
    prospect = running.prospect(7017, "en")
    await checklist_lead(prospect)
    files = [tmp_path / "bot.db", tmp_path / "bot.db-wal"]
    assert EMAIL.encode() in b"".join(p.read_bytes() for p in files if p.exists())
    await confirm(prospect, "forget")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.db*"))
    for secret in (PHONE, PHONE.lstrip("+"), EMAIL, NAME):
        assert secret.encode() not in raw


async def test_retention_anonymises_on_schedule_with_a_controlled_clock(running):
    prospect = running.prospect(7007, "en")
    await checklist_lead(prospect)
    now = utcnow()
    assert await anonymise_expired(running.app, now + timedelta(days=364)) == 0
    async with running.app.sessions() as session:
        assert (await session.execute(select(Lead))).scalar_one().phone == PHONE
    assert await anonymise_expired(running.app, now + timedelta(days=366)) == 1
    stored = await everything_stored(running)
    assert PHONE not in stored and EMAIL not in stored and NAME not in stored
    assert await traces(Person(PHONE, EMAIL, (NAME,)), running.app.engine, "") == {}
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead))).scalar_one()
        conversation = (await session.execute(select(Conversation))).scalar_one()
        receipt = (await session.execute(select(Event).where(Event.kind == "erased"))
                   ).scalar_one()
    assert lead.erased_at is not None and lead.temperature == "warm"
    assert conversation.erased_at is not None and receipt.data["reason"] == "retention"
    # done once: the next run finds nothing
    assert await anonymise_expired(running.app, now + timedelta(days=400)) == 0


async def test_privacy_answers_in_the_prospects_language(running):
    for user_id, language, words in ((7008, "ru", "Как ФЛП Коваленко"),
                                     (7009, "uk", "Як ФОП Коваленко"),
                                     (7010, "en", "How O. Kovalenko")):
        prospect = running.prospect(user_id, language)
        await prospect.start("renovation-checklist")
        await prospect.command("/privacy")
        said = prospect.said()[-1]
        assert said.startswith(words) and "https://remont-bez-syurpryziv.example/privacy" in said
        assert "/mydata" in said and "/forget" in said and "/stop" in said
    stale = running.prospect(7011, "en")
    await stale.tap(data="rights:nonsense:yes")
    [answer] = [c for c in running.telegram.sent(None, "answerCallbackQuery")
                if c.params["callback_query_id"].endswith("-7011")]
    assert answer.params.get("text") == "This button has expired."


async def test_logs_carry_no_phone_email_or_name(running):
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    sql_log = logging.getLogger("sqlalchemy.engine")
    sql_log.setLevel(logging.DEBUG)  # an operator who turns SQLAlchemy's log on, too
    try:
        prospect = running.prospect(7012, "en")
        await checklist_lead(prospect)
        await confirm(prospect, "mydata")
        await confirm(prospect, "forget")
        logging.getLogger("leadbot.test").warning("a careless line: %s, %s, %s", PHONE,
                                                  EMAIL, NAME)
        try:
            raise ValueError(f"cannot parse {PHONE} / {EMAIL} / {NAME}")
        except ValueError:
            logging.getLogger("leadbot.test").exception("and a careless traceback")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
        sql_log.setLevel(logging.WARNING)
    logged = stream.getvalue()
    assert "careless traceback" in logged and "ValueError" in logged
    assert logged.count("INSERT INTO leads") >= 1 and len(logged.splitlines()) > 50
    for secret in (PHONE, PHONE.lstrip("+"), EMAIL, NAME, "Olena", "Olivia"):  # + profile name
        assert secret not in logged


async def test_after_a_restart_debug_logs_still_carry_no_name(tmp_path, telegram,
                                                               monkeypatch):
    """The bot remembers no names across a restart: parameters must not be logged at all
    (aiosqlite logged them, JSON-escaped, around SQLAlchemy's hide_parameters)."""
    from bot import logsafe

    database = f"sqlite:///{tmp_path}/bot.db"
    cyrillic = "Олена Ковальчук"
    escaped = json.dumps(cyrillic)[1:-1]  # \u041e\u043b...
    async with bot_running(telegram, database) as running:
        prospect = running.prospect(7016, "uk")
        await prospect.start("renovation-checklist")
        for option in ("continue", "planning", "quarter", "maybe", "agree", "marketing_yes"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        await prospect.send(cyrillic)
        await prospect.send(EMAIL)
    monkeypatch.setattr(logsafe, "FILTER", logsafe.PersonalDataFilter())  # a new process
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    sql_log = logging.getLogger("sqlalchemy.engine")
    sql_log.setLevel(logging.DEBUG)
    try:
        async with bot_running(telegram, database) as running:
            prospect = running.prospect(7016, "uk")
            prospect.messages = 100
            await prospect.share_contact(PHONE)
            await confirm(prospect, "mydata")
            await confirm(prospect, "forget")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
        sql_log.setLevel(logging.WARNING)
    logged = stream.getvalue()
    assert logged.count("UPDATE leads") >= 1 and len(logged.splitlines()) > 50
    for secret in (cyrillic, escaped, "Олена", "Ковальчук", escaped[:30], PHONE,
                   PHONE.lstrip("+"), EMAIL):
        assert secret not in logged


async def test_a_new_policy_version_asks_returning_prospects_again(tmp_path, telegram):
    database = f"sqlite:///{tmp_path}/bot.db"
    async with bot_running(telegram, database) as running:
        prospect = running.prospect(7013, "en")
        await checklist_lead(prospect)
        await prospect.start("renovation-checklist")  # same policy: consent carries over
        for option in ("continue", "planning", "quarter", "maybe"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        assert "By pressing “I agree”" not in prospect.said()[-1]
    # the policy changes: a deploy with version 2 of the flow and policy 2026-12
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    path = flows / "renovation-checklist.yaml"
    path.write_text(path.read_text().replace('policy_version: "2026-10"',
                                             'policy_version: "2026-12"')
                    .replace("version: 1", "version: 2", 1))
    async with bot_running(telegram, database, flows_dir=flows) as deployed:
        again = deployed.prospect(7013, "en")
        again.messages = 100
        await again.command("/restart")  # (a /start would resume the quiz under way, on v1)
        for option in ("continue", "planning", "quarter", "maybe"):
            await again.tap(option=TAP_WORDS.get(option, option))
        assert "By pressing “I agree”" in again.said()[-1]
        await again.tap(option=TAP_WORDS["agree"])
        async with deployed.app.sessions() as session:
            versions = [c.policy_version for c in (await session.execute(
                select(Consent).where(Consent.purpose == "processing")
                .order_by(Consent.id))).scalars()]
        assert versions == ["2026-10", "2026-12"]


async def test_with_a_key_the_database_file_holds_no_phone_in_clear(telegram, tmp_path):
    key = crypto.new_key()
    url = f"sqlite:///{tmp_path}/sealed.db"
    try:  # handed off too: the card text is sealed as well
        async with bot_running(telegram, url, pii_key=key, managers_chat_id=-100111,
                               handoff_also=["warm"]) as running:
            prospect = running.prospect(7014, "en")
            await checklist_lead(prospect)
            async with running.app.sessions() as session:
                lead = (await session.execute(select(Lead))).scalar_one()
            assert (lead.phone, lead.email, lead.name) == (PHONE, EMAIL, NAME)  # readable
            assert lead.phone_hash == crypto.lookup_hash(PHONE)
            async with running.app.engine.connect() as connection:
                raw = (await connection.execute(text("SELECT phone FROM leads"))).scalar_one()
            assert raw.startswith(crypto.PREFIX)
        raw_files = b"".join(p.read_bytes() for p in tmp_path.glob("sealed.db*"))
        for secret in (PHONE, PHONE.lstrip("+"), EMAIL):
            assert secret.encode() not in raw_files
        # no key, or a wrong one: a clear refusal to start, never garbage
        with pytest.raises(StartupError, match="LEADBOT_PII_KEY is not set"):
            async with bot_running(telegram, url):
                pass
        with pytest.raises(StartupError, match="does not decrypt"):
            async with bot_running(telegram, url, pii_key=crypto.new_key()):
                pass
        with pytest.raises(StartupError, match="not a Fernet key"):
            async with bot_running(telegram, url, pii_key="secret123"):
                pass
        # rotation: the new key first, the old one after it, then rotate-key
        newer = crypto.new_key()
        rotate = subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "rotate-key"], capture_output=True,
            text=True, env={**os.environ, "LEADBOT_DATABASE_URL": url,
                            "LEADBOT_PII_KEY": f"{newer},{key}"}, check=False)
        assert rotate.returncode == 0, rotate.stderr
        assert "re-encrypted" in rotate.stdout
        async with bot_running(telegram, url, pii_key=newer) as running:  # old key gone
            async with running.app.sessions() as session:
                lead = (await session.execute(select(Lead))).scalar_one()
                conversation = (await session.execute(select(Conversation))).scalar_one()
                handoff = (await session.execute(select(Handoff))).scalar_one()
            assert lead.phone == PHONE and conversation.state["contact"]["email"] == EMAIL
            assert NAME in handoff.card_text
    finally:
        crypto.configure(None)


async def test_a_key_set_later_warns_and_rotate_key_encrypts_what_was_plain(
        telegram, tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/later.db"
    key = crypto.new_key()
    try:
        async with bot_running(telegram, url) as running:
            await checklist_lead(running.prospect(7015, "en"))
        caplog.set_level(logging.WARNING, logger="bot.app")
        async with bot_running(telegram, url, pii_key=key):
            pass
        assert "1 leads hold personal data stored before LEADBOT_PII_KEY" in caplog.text
        assert PHONE not in caplog.text
        crypto.configure(None)
        rotate = subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "rotate-key"], capture_output=True,
            text=True, env={**os.environ, "LEADBOT_DATABASE_URL": url, "LEADBOT_PII_KEY": key},
            check=False)
        assert rotate.returncode == 0, rotate.stderr
        async with bot_running(telegram, url, pii_key=key) as running:
            async with running.app.engine.connect() as connection:
                raw = (await connection.execute(text("SELECT phone, name FROM leads"))).one()
            assert all(value.startswith(crypto.PREFIX) for value in raw)
            async with running.app.sessions() as session:
                assert (await session.execute(select(Lead))).scalar_one().phone == PHONE
    finally:
        crypto.configure(None)


OAK, KOVALENKO = "Oak & Stone Ltd", "O. Kovalenko, sole trader (Renovation Without Surprises)"


async def kitchen_lead(prospect, marketing: bool = True) -> None:
    """kitchen-quiz (Oak & Stone Ltd) to its consent, agreed, the opt-in answered."""
    await prospect.start("kitchen-quiz__ads")
    for option in ("~go", "city", "island", "large", "veneer", "appliances", "~done",
                   "month", "agree", "marketing_yes" if marketing else "marketing_no"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send(NAME)
    await prospect.share_contact(PHONE)


async def test_consent_is_per_company_a_yes_to_one_is_not_a_yes_to_another(running_on_both):
    """A "yes" to kitchen-quiz's marketing (Oak & Stone Ltd) is not one to O. Kovalenko's
    renovation-checklist: it asks its own consent and its own opt-in, and without that
    opt-in none of its marketing follow-ups is scheduled or sent."""
    running = running_on_both
    prospect = running.prospect(7030, "en")
    await kitchen_lead(prospect)
    await prospect.start("renovation-checklist")
    for option in ("continue", "planning", "quarter", "maybe"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    assert "By pressing “I agree” you allow O. Kovalenko" in prospect.said()[-1]
    await prospect.tap(option=TAP_WORDS["agree"])
    assert prospect.said()[-1].startswith("May we send you renovation tips")  # its own
    await prospect.tap(option=TAP_WORDS["marketing_no"])
    await prospect.send(NAME)
    await prospect.send(EMAIL)
    await prospect.send("Skip")
    async with running.app.sessions() as session:
        ledger = [(c.operator, c.purpose, c.granted) for c in (await session.execute(
            select(Consent).order_by(Consent.id))).scalars()]
        checklist = (await session.execute(select(Conversation).where(
            Conversation.user_id == 7030, Conversation.flow_id == "renovation-checklist"))
                     ).scalar_one()
        scheduled = [f.key for f in (await session.execute(SEQUENCES.where(
            FollowUp.conversation_id == checklist.id))).scalars()]
    assert ledger == [(OAK, "processing", True), (OAK, "marketing", True),
                      (KOVALENKO, "processing", True)]
    assert checklist.state["consents"] == {"processing": "2026-10"}
    assert scheduled == []  # "tips" and "how-did-it-go" are marketing: not without the opt-in
    await deliver_due(running.app.sessions, utcnow() + timedelta(days=40), ANYTIME)
    await running.settle()
    assert not any(t.startswith(("7 mistakes", "How did")) for t in prospect.said())
    # /stop still withdraws everything everywhere: Oak & Stone's marketing here
    await confirm(prospect, "stop")
    async with running.app.sessions() as session:
        last = (await session.execute(select(Consent).order_by(Consent.id.desc()).limit(1))
                ).scalar_one()
    assert (last.operator, last.purpose, last.granted) == (OAK, "marketing", False)


async def test_a_company_s_consent_carries_over_to_its_other_flows(running_on_both):
    """The same company's consent (same policy version) is not asked for again, even
    after a conversation with another company in between: the ledger says it is in force."""
    running = running_on_both
    prospect = running.prospect(7031, "en")
    await checklist_lead(prospect, marketing=False)
    await kitchen_lead(prospect, marketing=False)  # another company in between
    await prospect.start("renovation-checklist")
    for option in ("continue", "planning", "quarter", "maybe"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    assert not any("By pressing “I agree” you allow O. Kovalenko" in t
                   for t in prospect.said()[-2:])
    # its marketing "no" before is not a consent: the opt-in is offered again
    assert prospect.said()[-1].startswith("May we send you renovation tips")


async def test_the_ledger_says_on_which_channel_and_which_message_was_answered(
        running_on_both):
    running = running_on_both
    prospect = running.prospect(7032, "en")
    await prospect.start("renovation-checklist__ads")
    for option in ("continue", "planning", "quarter", "maybe", "agree"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    consent_message = prospect.messages  # the consent message, its "I agree" tapped
    await prospect.tap(option=TAP_WORDS["marketing_yes"])
    opt_in_message = prospect.messages
    await prospect.command("/stop")
    await prospect.tap(data="rights:stop:yes")
    stop_message = prospect.messages  # the /stop confirmation, its button tapped
    async with running.app.sessions() as session:
        rows = [(c.purpose, c.granted, c.channel, c.message_id) for c in (await session.execute(
            select(Consent).order_by(Consent.id))).scalars()]
    assert rows == [("processing", True, "telegram", consent_message),
                    ("marketing", True, "telegram", opt_in_message),
                    ("marketing", False, "telegram", stop_message)]
    await confirm(prospect, "forget")
    forget_message = prospect.messages
    async with running.app.sessions() as session:
        last = (await session.execute(select(Consent).order_by(Consent.id.desc()).limit(1))
                ).scalar_one()
    assert (last.purpose, last.granted, last.channel, last.message_id) == (
        "processing", False, "telegram", forget_message)
    await confirm(prospect, "mydata")  # /mydata shows them
    [export] = exports(running, 7032)
    assert [(c["purpose"], c["granted"], c["channel"], c["message_id"], c["operator"])
            for c in export["consents"]] == [
        ("processing", True, "telegram", consent_message, KOVALENKO),
        ("marketing", True, "telegram", opt_in_message, KOVALENKO),
        ("marketing", False, "telegram", stop_message, KOVALENKO),
        ("processing", False, "telegram", forget_message, KOVALENKO)]


async def test_the_unsubscribe_button_records_the_message_it_was_under(running_on_both):
    running = running_on_both
    prospect = running.prospect(7033, "en")
    await checklist_lead(prospect)
    assert await deliver_due(running.app.sessions, utcnow() + timedelta(days=15), ANYTIME) == 1
    await running.settle()
    [message] = [c for c in running.telegram.sent(7033, "sendMessage")
                 if "rights:unsubscribe" in str(c.params.get("reply_markup"))]
    [[button]] = message.params["reply_markup"]["inline_keyboard"]
    await prospect.tap(data=button["callback_data"])
    tapped = prospect.messages
    async with running.app.sessions() as session:
        last = (await session.execute(select(Consent).order_by(Consent.id.desc()).limit(1))
                ).scalar_one()
    assert (last.purpose, last.granted, last.channel, last.message_id, last.operator) == (
        "marketing", False, "telegram", tapped, KOVALENKO)


RECIPIENTS = {"ru": "Их также получают сервисы, в которых мы ведём заявки: "
                    "crm.example (CRM), Bitrix24 (CRM).",
              "uk": "Їх також отримують сервіси, у яких ми ведемо заявки: "
                    "crm.example (CRM), Bitrix24 (CRM).",
              "en": "They also go to the services we keep requests in: "
                    "crm.example (CRM), Bitrix24 (CRM)."}
PRIVACY_RECIPIENTS = {
    "ru": "Также данные получают сервисы, в которых мы ведём заявки: crm.example (CRM), "
          "Bitrix24 (CRM).",
    "uk": "Також дані отримують сервіси, у яких ми ведемо заявки: crm.example (CRM), "
          "Bitrix24 (CRM).",
    "en": "The data also goes to the services we keep requests in: crm.example (CRM), "
          "Bitrix24 (CRM)."}
COPIES = {"ru": "он мог скопировать или переслать", "uk": "він міг скопіювати або переслати",
          "en": "may have been copied or forwarded by them"}


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
async def test_with_crms_configured_the_consent_text_and_privacy_name_them(
        telegram, tmp_path, language):
    """GDPR Art. 13(1)(e): the recipients. With a CRM webhook and Bitrix24 configured, the
    consent text (its {recipients}) and /privacy name both, in the prospect's language;
    /privacy also says what a manager may already have copied. No claim that nobody else
    gets the data is left."""
    crms = {"webhook_url": "https://crm.example/leads", "webhook_secret": "s" * 32,
            "bitrix24_webhook_url": "https://portal.bitrix24.example/rest/1/key/"}
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", **crms) as running:
        prospect = running.prospect(7034, language)
        await prospect.start("renovation-checklist")
        for option in ("continue", "planning", "quarter", "maybe"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        shown = prospect.said()[-1]
        assert RECIPIENTS[language] in shown
        assert "key" not in shown and "portal" not in shown  # nothing secret named
        await prospect.command("/privacy")
        said = prospect.said()[-1]
        assert PRIVACY_RECIPIENTS[language] in said and COPIES[language] in said
    async with bot_running(telegram, f"sqlite:///{tmp_path}/other.db") as running:
        prospect = running.prospect(7035, language)  # no CRM: nobody else, said so
        await prospect.start("renovation-checklist")
        for option in ("continue", "planning", "quarter", "maybe"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        assert {"ru": "Больше никому их не передаём.", "uk": "Більше нікому їх не передаємо.",
                "en": "We pass them to no one else."}[language] in prospect.said()[-1]
        await prospect.command("/privacy")
        said = prospect.said()[-1]
        assert "CRM" not in said and COPIES[language] in said
