"""The dashboard's words in ru / uk / en, and which language a request gets: `?lang=xx` (the
switch, remembered in a cookie), then that cookie, then Accept-Language, then English.

A page's words come from `words(language)`; a template uses them as `t.key`. A new page adds
its keys to every language here (tests/bot/test_web_i18n.py checks none is missing).

May import: aiohttp, the standard library.
"""

from __future__ import annotations

from aiohttp import web

LANGUAGES = ("en", "ru", "uk")
DEFAULT = "en"
LANGUAGE_COOKIE = "leadbot_lang"

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "leadbot dashboard",
        "sign_in": "Sign in",
        "sign_in_intro": "Enter the admin token (LEADBOT_ADMIN_TOKEN) to see the dashboard.",
        "token": "Admin token",
        "wrong_token": "That token is not right.",
        "sign_out": "Sign out",
        "flows": "Flows",
        "pick_flow": "Pick a flow",
        "no_flows": "No flows are loaded.",
        "version": "version",
        "show": "Show",
        "funnel": "Funnel",
        "sources": "Sources",
        "variants": "Variants",
        "temperature": "Temperature mix",
        "handoff_speed": "Hand-off speed per manager",
        "leads": "Leads",
        "coming": "Not built yet: the figures appear here in a later version.",
        "language": "Language",
        "overview": "Overview",
    },
    "ru": {
        "title": "Панель leadbot",
        "sign_in": "Войти",
        "sign_in_intro": "Введите токен администратора (LEADBOT_ADMIN_TOKEN), чтобы открыть "
                         "панель.",
        "token": "Токен администратора",
        "wrong_token": "Токен неверный.",
        "sign_out": "Выйти",
        "flows": "Сценарии",
        "pick_flow": "Выберите сценарий",
        "no_flows": "Ни один сценарий не загружен.",
        "version": "версия",
        "show": "Показать",
        "funnel": "Воронка",
        "sources": "Источники",
        "variants": "Варианты",
        "temperature": "Горячие, тёплые, холодные",
        "handoff_speed": "Скорость менеджеров",
        "leads": "Лиды",
        "coming": "Пока не готово: цифры появятся здесь в следующей версии.",
        "language": "Язык",
        "overview": "Обзор",
    },
    "uk": {
        "title": "Панель leadbot",
        "sign_in": "Увійти",
        "sign_in_intro": "Введіть токен адміністратора (LEADBOT_ADMIN_TOKEN), щоб відкрити "
                         "панель.",
        "token": "Токен адміністратора",
        "wrong_token": "Токен неправильний.",
        "sign_out": "Вийти",
        "flows": "Сценарії",
        "pick_flow": "Оберіть сценарій",
        "no_flows": "Жоден сценарій не завантажено.",
        "version": "версія",
        "show": "Показати",
        "funnel": "Воронка",
        "sources": "Джерела",
        "variants": "Варіанти",
        "temperature": "Гарячі, теплі, холодні",
        "handoff_speed": "Швидкість менеджерів",
        "leads": "Ліди",
        "coming": "Ще не готово: цифри з'являться тут у наступній версії.",
        "language": "Мова",
        "overview": "Огляд",
    },
}


def from_accept_language(header: str) -> str | None:
    """The first of our languages in Accept-Language, by its q-values."""
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return None


def language(request: web.Request) -> str:
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return from_accept_language(request.headers.get("Accept-Language", "")) or DEFAULT


def remember(request: web.Request, response: web.StreamResponse) -> None:
    """The switch (`?lang=xx`) is remembered for the next pages."""
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, asked, max_age=365 * 86400, path="/admin",
                            samesite="Strict", httponly=True)


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS[DEFAULT])
