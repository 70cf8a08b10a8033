"""The Money page's words (bot/web/money.py, templates/money.html) in ru / uk / en, merged
into i18n.WORDS: kept apart so the page's words read together.

May import: the standard library.
"""

from __future__ import annotations

MONEY: dict[str, dict[str, str]] = {
    "en": {
        "money": "Money",
        "money_title": "Money per source",
        "money_by": "Rows",
        "by_source": "source", "by_campaign": "source / campaign", "by_day": "day",
        "money_hint": "All flows. People, leads and sales are counted by the day the "
                      "conversation started (LEADBOT_TIMEZONE); spend is spread evenly over "
                      "the days it covers; clicks are those made in the period.",
        "no_money": "No spend, clicks or people in the period.",
        "spend": "spend", "clicks": "clicks", "people": "people", "revenue": "revenue",
        "per_lead": "per lead", "per_hot": "per hot lead", "per_sale": "per sale",
        "romi": "ROMI", "days_to_sale": "days to sale", "total": "total",
        "median_hint": "Days to sale: the median from the lead to the sale.",
        "no_spend": "no spend", "no_amount": "no amount",
        "no_amount_hint": "Won leads without an amount yet count as won, not in the revenue.",
        "spend_upload": "Upload a spend file (CSV)",
        "upload": "Upload",
        "spend_upload_hint": "Columns: date (2026-11-03, or 2026-11 for a month), source, "
                             "campaign (may be empty), amount (1234.50 or 1 234,50), currency "
                             "(may be left out: {currency}). Comma or semicolon, UTF-8. A bad "
                             "row: nothing is stored. A period uploaded again replaces what "
                             "was stored for the same sources and campaigns.",
        "spend_figure": "Type a month's spend",
        "campaign": "Campaign", "month": "Month", "amount": "Amount", "save": "Save",
        "spend_figure_hint": "Replaces that month's spend of that source and campaign.",
        "spend_saved": "Spend stored; rows:",
        "spend_refused": "Nothing was stored",
        "spend_too_big": "The file is too big: split it by months.",
        "spend_no_file": "Choose a CSV file to upload.",
        "bad_spend_source": "A source is 1 to 64 Latin letters, digits, _ or -, as in the "
                            "bot's links.",
        "bad_spend_campaign": "A campaign is at most 64 characters.",
        "bad_spend_month": "Pick a month.",
        "bad_spend_amount": "Write the amount as a number from 0, e.g. 1234.50 or 1 234,50.",
    },
    "ru": {
        "money": "Деньги",
        "money_title": "Деньги по источникам",
        "money_by": "Строки",
        "by_source": "источник", "by_campaign": "источник / кампания", "by_day": "день",
        "money_hint": "Все сценарии. Люди, лиды и продажи считаются по дню начала разговора "
                      "(LEADBOT_TIMEZONE); расход делится поровну по дням, за которые он "
                      "указан; клики — сделанные за период.",
        "no_money": "За период нет ни расходов, ни кликов, ни людей.",
        "spend": "расход", "clicks": "клики", "people": "люди", "revenue": "выручка",
        "per_lead": "за лид", "per_hot": "за горячий лид", "per_sale": "за продажу",
        "romi": "ROMI", "days_to_sale": "дней до продажи", "total": "итого",
        "median_hint": "Дней до продажи: медиана от лида до продажи.",
        "no_spend": "нет расхода", "no_amount": "без суммы",
        "no_amount_hint": "Выигранные лиды без суммы считаются продажами, но не входят в "
                          "выручку.",
        "spend_upload": "Загрузить расходы (CSV)",
        "upload": "Загрузить",
        "spend_upload_hint": "Столбцы: date (2026-11-03 или 2026-11 за месяц), source, "
                             "campaign (можно пусто), amount (1234.50 или 1 234,50), currency "
                             "(можно не указывать: {currency}). Запятая или точка с запятой, "
                             "UTF-8. Есть ошибка — ничего не сохраняется. Повторная загрузка "
                             "периода заменяет сохранённое для тех же источников и кампаний.",
        "spend_figure": "Ввести расход за месяц",
        "campaign": "Кампания", "month": "Месяц", "amount": "Сумма", "save": "Сохранить",
        "spend_figure_hint": "Заменяет расход этого источника и кампании за этот месяц.",
        "spend_saved": "Расходы сохранены; строк:",
        "spend_refused": "Ничего не сохранено",
        "spend_too_big": "Файл слишком большой: разбейте его по месяцам.",
        "spend_no_file": "Выберите CSV-файл для загрузки.",
        "bad_spend_source": "Источник — от 1 до 64 латинских букв, цифр, _ или -, как в "
                            "ссылках бота.",
        "bad_spend_campaign": "Кампания — не длиннее 64 символов.",
        "bad_spend_month": "Выберите месяц.",
        "bad_spend_amount": "Напишите сумму числом от 0, например 1234.50 или 1 234,50.",
    },
    "uk": {
        "money": "Гроші",
        "money_title": "Гроші за джерелами",
        "money_by": "Рядки",
        "by_source": "джерело", "by_campaign": "джерело / кампанія", "by_day": "день",
        "money_hint": "Усі сценарії. Люди, ліди й продажі рахуються за днем початку розмови "
                      "(LEADBOT_TIMEZONE); витрати діляться порівну між днями, за які їх "
                      "вказано; кліки — зроблені за період.",
        "no_money": "За період немає ні витрат, ні кліків, ні людей.",
        "spend": "витрати", "clicks": "кліки", "people": "люди", "revenue": "виторг",
        "per_lead": "за лід", "per_hot": "за гарячий лід", "per_sale": "за продаж",
        "romi": "ROMI", "days_to_sale": "днів до продажу", "total": "разом",
        "median_hint": "Днів до продажу: медіана від ліда до продажу.",
        "no_spend": "немає витрат", "no_amount": "без суми",
        "no_amount_hint": "Виграні ліди без суми рахуються продажами, але не входять у "
                          "виторг.",
        "spend_upload": "Завантажити витрати (CSV)",
        "upload": "Завантажити",
        "spend_upload_hint": "Стовпці: date (2026-11-03 або 2026-11 за місяць), source, "
                             "campaign (можна порожньо), amount (1234.50 або 1 234,50), "
                             "currency (можна не вказувати: {currency}). Кома або крапка з "
                             "комою, UTF-8. Є помилка — нічого не зберігається. Повторне "
                             "завантаження періоду замінює збережене для тих самих джерел і "
                             "кампаній.",
        "spend_figure": "Ввести витрати за місяць",
        "campaign": "Кампанія", "month": "Місяць", "amount": "Сума", "save": "Зберегти",
        "spend_figure_hint": "Замінює витрати цього джерела й кампанії за цей місяць.",
        "spend_saved": "Витрати збережено; рядків:",
        "spend_refused": "Нічого не збережено",
        "spend_too_big": "Файл завеликий: розбийте його за місяцями.",
        "spend_no_file": "Виберіть CSV-файл для завантаження.",
        "bad_spend_source": "Джерело — від 1 до 64 латинських літер, цифр, _ або -, як у "
                            "посиланнях бота.",
        "bad_spend_campaign": "Кампанія — не довша за 64 символи.",
        "bad_spend_month": "Виберіть місяць.",
        "bad_spend_amount": "Напишіть суму числом від 0, наприклад 1234.50 або 1 234,50.",
    },
}
