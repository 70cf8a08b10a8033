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
        "overview": "Home",
        "since": "From",
        "version_title": "Version",
        "until": "To (included)",
        "source": "Source",
        "any": "any",
        "bad_filters": "These filters could not be read",
        "bad_date": "A date must be written as YYYY-MM-DD, for example 2026-11-01.",
        "bad_range": "The period must end on or after its first day and be at most 400 days long.",
        "bad_year": "A date must fall between 1970-01-01 and 2999-12-31.",
        "bad_source": "A source is at most 64 characters long, letters, digits and signs "
                      "only.",
        "bad_number": "The version and the page are whole numbers from 1.",
        "bad_choice": "Pick the temperature and the outcome from the lists.",
        "reset_filters": "Show the last 30 days",
        "no_people": "Nobody started this flow in the period.",
        "started": "started",
        "leads_word": "leads",
        "reached": "reached",
        "answered": "answered",
        "drop_off": "drop-off",
        "consent": "consent given",
        "declined": "declined",
        "contact": "contact given",
        "handoffs": "hand-offs",
        "claimed": "claimed",
        "won": "won",
        "lost": "lost",
        "sources_group": "source",
        "variants_group": "variant",
        "hot": "hot",
        "warm": "warm",
        "cold": "cold",
        "lead_share": "leads per started",
        "hot_share": "hot per started",
        "no_claims": "No manager claimed a lead of this flow in the period.",
        "manager": "Manager",
        "to_claim": "time to claim",
        "to_contact": "time to first contact",
        "temperature_word": "Temperature",
        "outcome": "Outcome",
        "outcome_handoff": "hand-off",
        "outcome_nurture": "nurture",
        "outcome_close": "closed",
        "show_contacts": "Show contacts",
        "hide_contacts": "Hide contacts",
        "contacts_recorded": "this showing of contacts is recorded, like an export.",
        "leads_found": "Leads in the period",
        "created": "Created",
        "score": "Score",
        "status": "Status",
        "name": "Name",
        "phone": "Phone",
        "email": "Email",
        "no_leads": "No leads match.",
        "pages": "Pages",
        "previous": "previous",
        "next": "next",
        "page": "page",
    },
    "ru": {
        "title": "Панель leadbot",
        "sign_in": "Войти",
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
        "overview": "Главная",
        "since": "С",
        "version_title": "Версия",
        "until": "По (включительно)",
        "source": "Источник",
        "any": "любой",
        "bad_filters": "Не удалось прочитать фильтры",
        "bad_date": "Дату нужно писать как ГГГГ-ММ-ДД, например 2026-11-01.",
        "bad_range": "Период должен заканчиваться не раньше первого дня и быть не "
                     "длиннее 400 дней.",
        "bad_year": "Дата должна быть между 1970-01-01 и 2999-12-31.",
        "bad_source": "Источник — не длиннее 64 символов, только буквы, цифры и знаки.",
        "bad_number": "Версия и страница — целые числа от 1.",
        "bad_choice": "Выберите температуру и исход из списков.",
        "reset_filters": "Показать последние 30 дней",
        "no_people": "За этот период сценарий никто не начинал.",
        "started": "начали",
        "leads_word": "лидов",
        "reached": "дошли",
        "answered": "ответили",
        "drop_off": "отсев",
        "consent": "согласие дали",
        "declined": "отказались",
        "contact": "контакт оставили",
        "handoffs": "передано менеджерам",
        "claimed": "взяли",
        "won": "успешно",
        "lost": "потеряно",
        "sources_group": "источник",
        "variants_group": "вариант",
        "hot": "горячие",
        "warm": "тёплые",
        "cold": "холодные",
        "lead_share": "лидов от начавших",
        "hot_share": "горячих от начавших",
        "no_claims": "За этот период менеджеры не взяли ни одного лида этого сценария.",
        "manager": "Менеджер",
        "to_claim": "время до взятия",
        "to_contact": "время до первого контакта",
        "temperature_word": "Температура",
        "outcome": "Исход",
        "outcome_handoff": "менеджеру",
        "outcome_nurture": "прогрев",
        "outcome_close": "закрыт",
        "show_contacts": "Показать контакты",
        "hide_contacts": "Скрыть контакты",
        "contacts_recorded": "этот показ контактов записан, как выгрузка.",
        "leads_found": "Лидов за период",
        "created": "Создан",
        "score": "Баллы",
        "status": "Статус",
        "name": "Имя",
        "phone": "Телефон",
        "email": "Почта",
        "no_leads": "Подходящих лидов нет.",
        "pages": "Страницы",
        "previous": "назад",
        "next": "дальше",
        "page": "страница",
    },
    "uk": {
        "title": "Панель leadbot",
        "sign_in": "Увійти",
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
        "overview": "Головна",
        "since": "З",
        "version_title": "Версія",
        "until": "По (включно)",
        "source": "Джерело",
        "any": "будь-яке",
        "bad_filters": "Не вдалося прочитати фільтри",
        "bad_date": "Дату треба писати як РРРР-ММ-ДД, наприклад 2026-11-01.",
        "bad_range": "Період має закінчуватися не раніше першого дня й бути не довшим за 400 днів.",
        "bad_year": "Дата має бути між 1970-01-01 і 2999-12-31.",
        "bad_source": "Джерело — не довше за 64 символи, лише літери, цифри й знаки.",
        "bad_number": "Версія та сторінка — цілі числа від 1.",
        "bad_choice": "Оберіть температуру й результат зі списків.",
        "reset_filters": "Показати останні 30 днів",
        "no_people": "За цей період сценарій ніхто не починав.",
        "started": "почали",
        "leads_word": "лідів",
        "reached": "дійшли",
        "answered": "відповіли",
        "drop_off": "відсів",
        "consent": "згоду дали",
        "declined": "відмовилися",
        "contact": "контакт залишили",
        "handoffs": "передано менеджерам",
        "claimed": "взяли",
        "won": "успішно",
        "lost": "втрачено",
        "sources_group": "джерело",
        "variants_group": "варіант",
        "hot": "гарячі",
        "warm": "теплі",
        "cold": "холодні",
        "lead_share": "лідів від тих, хто почав",
        "hot_share": "гарячих від тих, хто почав",
        "no_claims": "За цей період менеджери не взяли жодного ліда цього сценарію.",
        "manager": "Менеджер",
        "to_claim": "час до взяття",
        "to_contact": "час до першого контакту",
        "temperature_word": "Температура",
        "outcome": "Результат",
        "outcome_handoff": "менеджеру",
        "outcome_nurture": "прогрів",
        "outcome_close": "закрито",
        "show_contacts": "Показати контакти",
        "hide_contacts": "Приховати контакти",
        "contacts_recorded": "цей показ контактів записано, як вивантаження.",
        "leads_found": "Лідів за період",
        "created": "Створено",
        "score": "Бали",
        "status": "Статус",
        "name": "Ім'я",
        "phone": "Телефон",
        "email": "Пошта",
        "no_leads": "Відповідних лідів немає.",
        "pages": "Сторінки",
        "previous": "назад",
        "next": "далі",
        "page": "сторінка",
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


def _merged() -> None:
    """Each page's words (bot/web/*_words.py) join each language's: one catalogue."""
    from bot.web.broadcast_words import BROADCASTS
    from bot.web.flow_words import FLOW
    from bot.web.home_words import HOME
    from bot.web.lead_words import LEAD
    from bot.web.money_words import MONEY
    from bot.web.signin_words import SIGNIN

    for pages in (MONEY, HOME, SIGNIN, FLOW, LEAD, BROADCASTS):
        for lang, more in pages.items():
            WORDS[lang].update(more)



_merged()
