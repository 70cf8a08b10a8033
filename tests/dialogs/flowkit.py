"""A small valid flow to break in tests, one way at a time."""

from __future__ import annotations


def t(text: str) -> dict[str, str]:
    return {"ru": f"{text} (ru)", "uk": f"{text} (uk)", "en": text}


CONSENT = {  # what the linter requires of a consent text, in every language
    "ru": "{company} обработает имя и телефон, чтобы связаться с вами; хранит {retention_days} "
          "дней. /mydata, /forget. Вопросы: {company_contact}. {policy_url}",
    "uk": "{company} обробить ім'я та телефон, щоб зв'язатися з вами; зберігає "
          "{retention_days} днів. /mydata, /forget. Питання: {company_contact}. {policy_url}",
    "en": "May we? {company} processes your name and phone to contact you; kept "
          "{retention_days} days. /mydata, /forget. Questions: {company_contact}. {policy_url}",
}
MINIMAL = {
    "id": "demo", "version": 1, "title": t("Demo"), "languages": ["ru", "uk", "en"],
    "default_language": "en", "phone_region": "GB", "start": "ask",
    "steps": {
        "ask": {"kind": "single_choice", "text": t("Which?"), "options": [
            {"id": "a", "text": t("A"), "score": 10, "tags": ["keen"], "next": "agree"},
            {"id": "b", "text": t("B"), "next": "bye"},
        ]},
        "agree": {"kind": "consent", "text": CONSENT,
                  "policy_url": "https://shop.example/privacy", "policy_version": "1",
                  "accept": t("Yes"), "decline": t("No"), "declined": "bye",
                  "next": "contact"},
        "contact": {"kind": "contact", "name": "required", "phone": "required",
                    "next": "bye"},
        "bye": {"kind": "end", "text": t("Bye")},
    },
    "operator": {"company": "Demo Ltd", "contact": "privacy@demo.example"},
    "qualification": {"target": "answers.ask != 'b'",
                      "temperature": {"hot": "score >= 10", "warm": "score >= 5"}},
}
