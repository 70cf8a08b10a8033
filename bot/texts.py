"""The bot's own words outside any flow: the menu of lead magnets and the command list."""

from __future__ import annotations

MENU = {
    "ru": "Здравствуйте! Выберите, что вам интересно:",
    "uk": "Вітаємо! Оберіть, що вас цікавить:",
    "en": "Hello! Choose what interests you:",
}
COMMANDS = {  # setMyCommands, per language
    "ru": [("start", "Начать"), ("restart", "Начать заново"), ("back", "Назад"),
           ("lang", "Язык: /lang uk, /lang en")],
    "uk": [("start", "Почати"), ("restart", "Почати знову"), ("back", "Назад"),
           ("lang", "Мова: /lang ru, /lang en")],
    "en": [("start", "Start"), ("restart", "Start over"), ("back", "Back"),
           ("lang", "Language: /lang ru, /lang uk")],
}


def language_of(code: str | None) -> str:
    primary = (code or "").lower().split("-")[0]
    return primary if primary in MENU else "en"
