"""The Money page's words (bot/web/money.py, templates/money.html) in ru / uk / en, merged
into i18n.WORDS: kept apart so the page's words read together.

May import: the standard library (a problem of dialogs.rules.money is read by its
attributes, not imported).
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
        "romi": "ROMI", "days_to_sale": "days to sale", "total": "total, all sources",
        "total_paid": "total, paid sources",
        "totals_hint": "Costs and ROMI of the totals: over the paid sources (those with "
                       "spend in the period); the all-sources total adds the people and "
                       "revenue of the others (organic, referrals).",
        "other_currency_spend": "{n} spend row(s) in another currency than {currency} are "
                                "left out.",
        "other_currency_sales": "{n} sale(s) in another currency than {currency} count as "
                                "won, not in the revenue.",
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
        "conversions_title": "Conversions sent to the ad platforms",
        "no_conversions": "No conversions in the period (the platforms and their goals are "
                          "set in LEADBOT_CONVERSIONS_FILE).",
        "conversions_platform": "platform", "conversions_moment": "moment",
        "conversions_goal": "goal", "conversions_pending": "waiting",
        "conversions_sent": "sent", "conversions_accepted": "accepted",
        "conversions_failed": "failed", "conversions_skipped": "skipped",
        "conversions_skipped_why": "why skipped", "conversions_failed_why": "why failed",
        "conversions_total": "total",
        "conversions_hint": "By the day the lead reached the moment (LEADBOT_TIMEZONE). Sent: "
                            "the platform took it; accepted: it confirmed (Meta, Yandex "
                            "Metrica; Google Analytics confirms nothing); skipped: not sent, "
                            "by design.",
        "moment_lead": "lead (contact)", "moment_mql": "MQL", "moment_sql": "SQL",
        "moment_hot": "hot lead", "moment_handoff": "handed off", "moment_claimed": "claimed",
        "moment_won": "sale", "moment_lost": "lost",
        "why_duplicate": "already sent", "why_no_consent": "no consent",
        "why_erased": "data erased", "why_no_click": "no ad click",
        "why_too_old": "too old for the platform", "why_ambiguous": "outcome unknown",
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
        "romi": "ROMI", "days_to_sale": "дней до продажи", "total": "итого, все источники",
        "total_paid": "итого, платные источники",
        "totals_hint": "Стоимость и ROMI в итогах — по платным источникам (с расходом за "
                       "период); итог по всем источникам добавляет людей и выручку "
                       "остальных (органика, рекомендации).",
        "other_currency_spend": "Строк расхода в другой валюте, чем {currency}, не учтено: "
                                "{n}.",
        "other_currency_sales": "Продаж в другой валюте, чем {currency}: {n}; они считаются "
                                "продажами, но не входят в выручку.",
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
        "conversions_title": "Конверсии, отправленные в рекламные системы",
        "no_conversions": "За период конверсий нет (системы и их цели задаются в "
                          "LEADBOT_CONVERSIONS_FILE).",
        "conversions_platform": "система", "conversions_moment": "момент",
        "conversions_goal": "цель", "conversions_pending": "ждут",
        "conversions_sent": "отправлено", "conversions_accepted": "принято",
        "conversions_failed": "ошибка", "conversions_skipped": "пропущено",
        "conversions_skipped_why": "почему пропущено", "conversions_failed_why": "почему ошибка",
        "conversions_total": "итого",
        "conversions_hint": "По дню, когда лид достиг момента (LEADBOT_TIMEZONE). Отправлено — "
                            "система приняла запрос; принято — подтвердила (Meta, Яндекс "
                            "Метрика; Google Analytics не подтверждает ничего); пропущено — "
                            "не отправлялось намеренно.",
        "moment_lead": "лид (контакт)", "moment_mql": "MQL", "moment_sql": "SQL",
        "moment_hot": "горячий лид", "moment_handoff": "передан", "moment_claimed": "взят",
        "moment_won": "продажа", "moment_lost": "проигран",
        "why_duplicate": "уже отправлено", "why_no_consent": "нет согласия",
        "why_erased": "данные удалены", "why_no_click": "нет клика по рекламе",
        "why_too_old": "слишком старое для системы", "why_ambiguous": "исход неизвестен",
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
        "romi": "ROMI", "days_to_sale": "днів до продажу", "total": "разом, усі джерела",
        "total_paid": "разом, платні джерела",
        "totals_hint": "Вартість і ROMI в підсумках — за платними джерелами (з витратами "
                       "за період); підсумок за всіма джерелами додає людей і виторг "
                       "решти (органіка, рекомендації).",
        "other_currency_spend": "Рядків витрат в іншій валюті, ніж {currency}, не враховано: "
                                "{n}.",
        "other_currency_sales": "Продажів в іншій валюті, ніж {currency}: {n}; вони "
                                "рахуються продажами, але не входять у виторг.",
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
        "conversions_title": "Конверсії, надіслані в рекламні системи",
        "no_conversions": "За період конверсій немає (системи та їхні цілі задаються в "
                          "LEADBOT_CONVERSIONS_FILE).",
        "conversions_platform": "система", "conversions_moment": "момент",
        "conversions_goal": "ціль", "conversions_pending": "чекають",
        "conversions_sent": "надіслано", "conversions_accepted": "прийнято",
        "conversions_failed": "помилка", "conversions_skipped": "пропущено",
        "conversions_skipped_why": "чому пропущено", "conversions_failed_why": "чому помилка",
        "conversions_total": "разом",
        "conversions_hint": "За днем, коли лід досяг моменту (LEADBOT_TIMEZONE). Надіслано — "
                            "система прийняла запит; прийнято — підтвердила (Meta, Яндекс "
                            "Метрика; Google Analytics нічого не підтверджує); пропущено — "
                            "не надсилалося навмисно.",
        "moment_lead": "лід (контакт)", "moment_mql": "MQL", "moment_sql": "SQL",
        "moment_hot": "гарячий лід", "moment_handoff": "передано", "moment_claimed": "взято",
        "moment_won": "продаж", "moment_lost": "програно",
        "why_duplicate": "уже надіслано", "why_no_consent": "немає згоди",
        "why_erased": "дані видалено", "why_no_click": "немає кліку по рекламі",
        "why_too_old": "застаре для системи", "why_ambiguous": "результат невідомий",
    },
}

# A spend file's problems (dialogs/rules/money.py ENGLISH: the same keys and values), for
# the dashboard's readers of ru and uk; "row N: " before a row's.
ROW = {"ru": "строка {row}: ", "uk": "рядок {row}: "}
PROBLEMS: dict[str, dict[str, str]] = {
    "ru": {
        "negative": "{text!r} — отрицательная сумма: расход от 0",
        "not_amount": "{text!r} — не сумма: напишите, например, 1234.50 или 1 234,50",
        "too_large": "{text!r} — слишком много для одной строки (не больше {most})",
        "not_day": "{text!r} — не день и не месяц: напишите 2026-11-03 или 2026-11 "
                   "(03.11.2026 или 11.2026)",
        "far_day": "{text!r}: день раньше {earliest} или позже {latest} — опечатка, а не "
                   "расход",
        "overlap": "{pair}: месяц из строки {month_row} ({month}) и день из строки "
                   "{day_row} ({day}) пересекаются: укажите дни месяца или весь месяц, не "
                   "то и другое",
        "not_csv": "файл не читается как CSV около строки {line}: проверьте кавычки и "
                   "длину ячеек (не больше 128 КБ)",
        "too_big": "в файле {size} байт: не больше {most} (разбейте его по месяцам)",
        "not_utf8": "файл не в UTF-8: сохраните его как «CSV UTF-8»",
        "binary": "это не CSV (в файле двоичные данные)",
        "empty": "файл пуст: первая строка должна называть столбцы ({columns})",
        "columns": "столбцы: {found}; нужны {needed} (можно ещё campaign, currency), "
                   "каждый по разу",
        "columns_unknown": "столбцы: {found}; нужны {needed} (можно ещё campaign, currency), "
                           "каждый по разу; незнакомые: {unknown}",
        "too_many_rows": "больше {most} строк: разбейте файл по месяцам",
        "cells": "ячеек {cells}, а в заголовке {header}",
        "no_rows": "под заголовком нет строк",
        "more": "… и ещё плохих строк: {rest}",
        "source": "источник {source!r}: от 1 до 64 символов A-Z a-z 0-9 _ - (как в ссылках "
                  "бота)",
        "campaign": "кампания {campaign!r}…: не длиннее 64 печатных символов",
        "currency": "валюта {given}: здесь всё считается в {currency} (LEADBOT_CURRENCY); "
                    "сначала переведите сумму",
        "conflict": "{pair}: сохранён расход за {first}..{last}, а даны лишь некоторые его "
                    "дни: чтобы заменить его, укажите весь {first}..{last}",
    },
    "uk": {
        "negative": "{text!r} — від'ємна сума: витрати від 0",
        "not_amount": "{text!r} — не сума: напишіть, наприклад, 1234.50 або 1 234,50",
        "too_large": "{text!r} — забагато для одного рядка (не більше {most})",
        "not_day": "{text!r} — не день і не місяць: напишіть 2026-11-03 або 2026-11 "
                   "(03.11.2026 або 11.2026)",
        "far_day": "{text!r}: день раніше {earliest} або пізніше {latest} — це помилка, а "
                   "не витрати",
        "overlap": "{pair}: місяць із рядка {month_row} ({month}) і день із рядка "
                   "{day_row} ({day}) перетинаються: вкажіть дні місяця або весь місяць, "
                   "не те й інше",
        "not_csv": "файл не читається як CSV біля рядка {line}: перевірте лапки й довжину "
                   "клітинок (не більше 128 КБ)",
        "too_big": "у файлі {size} байтів: не більше {most} (розбийте його за місяцями)",
        "not_utf8": "файл не в UTF-8: збережіть його як «CSV UTF-8»",
        "binary": "це не CSV (у файлі двійкові дані)",
        "empty": "файл порожній: перший рядок має називати стовпці ({columns})",
        "columns": "стовпці: {found}; потрібні {needed} (можна ще campaign, currency), "
                   "кожен по разу",
        "columns_unknown": "стовпці: {found}; потрібні {needed} (можна ще campaign, "
                           "currency), кожен по разу; незнайомі: {unknown}",
        "too_many_rows": "понад {most} рядків: розбийте файл за місяцями",
        "cells": "клітинок {cells}, а в заголовку {header}",
        "no_rows": "під заголовком немає рядків",
        "more": "… і ще поганих рядків: {rest}",
        "source": "джерело {source!r}: від 1 до 64 символів A-Z a-z 0-9 _ - (як у "
                  "посиланнях бота)",
        "campaign": "кампанія {campaign!r}…: не довша за 64 друковані символи",
        "currency": "валюта {given}: тут усе рахується в {currency} (LEADBOT_CURRENCY); "
                    "спершу перерахуйте суму",
        "conflict": "{pair}: збережено витрати за {first}..{last}, а дано лише деякі їхні "
                    "дні: щоб замінити їх, вкажіть увесь {first}..{last}",
    },
}


def said(problem: str, lang: str) -> str:
    """A problem (dialogs.rules.money.Problem, or a line already in `lang`) in `lang`."""
    key = getattr(problem, "key", None)
    words = PROBLEMS.get(lang)
    if key is None or words is None:
        return str(problem)
    row = getattr(problem, "row", None)
    return (ROW[lang].format(row=row) if row is not None else "") + words[key].format(
        **problem.values)
