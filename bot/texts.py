"""The bot's own words outside any flow, in ru / uk / en: the menu of lead magnets, the
command list, the prospect's rights (RIGHTS), the managers' cards and buttons (MANAGERS),
what the prospect is told about the hand-off (PROSPECT_HANDOFF), and `language_of`."""

from __future__ import annotations

MENU = {
    "ru": "Здравствуйте! Выберите, что вам интересно:",
    "uk": "Вітаємо! Оберіть, що вас цікавить:",
    "en": "Hello! Choose what interests you:",
}
TAP_FAILED = {  # a tap that failed for a bug and was given up on (bot/transport/updates.py)
    "ru": "Извините, не получилось. Попробуйте ещё раз или напишите /restart.",
    "uk": "Вибачте, не вдалося. Спробуйте ще раз або напишіть /restart.",
    "en": "Sorry, that did not work. Please try again, or send /restart.",
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

# The prospect's rights (bot/service/rights.py); {company}, {contact}, {days}, {policy_url}
# and {recipients} (the configured CRMs, from "recipients", and the ad platforms sent
# conversions, from "conversions" and "hashed"; empty without any) are filled in.
RIGHTS = {
    "ru": {
        "privacy": (
            "Как {company} обращается с вашими данными\n\n"
            "Что храним: ваши ответы в опросе, а имя, телефон и e-mail — только после вашего "
            "согласия.\nЗачем: подготовить предложение и связаться с вами по нему; рассылку — "
            "только если вы на неё согласились.\nКто видит: менеджеры {company}.{recipients}\n"
            "Сколько храним: {days} дней после вашего последнего сообщения, затем "
            "обезличиваем.\n\nВаши права:\n/mydata — файл со всеми данными о вас\n"
            "/stop — отказаться от рассылки\n/forget — удалить имя, телефон, e-mail и ваши "
            "ответы своими словами\n\nСообщение, уже доставленное менеджеру, он мог "
            "скопировать или переслать: по /forget бот исправляет свои сообщения, но копии "
            "ему недоступны.\n\n"
            "Вопросы: {contact}\nПолитика целиком: {policy_url}"),
        "recipients": " Также данные получают сервисы, в которых мы ведём заявки: {names}.",
        "conversions": " О квалифицированной заявке и о продаже мы сообщаем рекламным "
                       "площадкам {names}, чтобы оценивать рекламу{hashed}; то, что площадка "
                       "уже получила, остаётся у неё по её правилам хранения, а /forget "
                       "останавливает всё, что ещё не отправлено.",
        "hashed": " ({names} — с вашим телефоном и e-mail в виде хеша)",
        "mydata_conversions": " Какие отметки о заявке получили рекламные площадки — в "
                              "«conversions».",
        "no_contact": "через этот чат",
        "ask_mydata": "Прислать вам файл со всеми данными, которые мы о вас храним?",
        "yes_mydata": "Да, прислать",
        "ask_stop": "Отказаться от рекламной рассылки {company}? Сообщения по вашей заявке "
                    "это не остановит.",
        "yes_stop": "Да, отказаться",
        "ask_forget": "Удалить ваше имя, телефон, e-mail и ответы своими словами? Согласие "
                      "будет отозвано, отменить удаление нельзя.",
        "yes_forget": "Да, удалить",
        "cancel": "Отмена",
        "cancelled": "Отменено, ничего не изменилось.",
        "mydata_caption": "Все данные о вас, которые хранит бот (JSON).",
        "stopped": "Готово: рекламных сообщений больше не будет. Отказ записан.",
        "unsubscribe": "Отписаться",
        "unsubscribe_hint": "Не хотите таких сообщений? Нажмите «Отписаться» или отправьте "
                            "/stop.",
        "not_subscribed": "Вы не подписаны на рассылку — присылать нечего. Отложенные "
                          "рекламные сообщения отменены.",
        "forgotten": "Готово: ваше имя, телефон, e-mail и ответы своими словами удалены, "
                     "согласие отозвано. Осталась только обезличенная статистика. Начать "
                     "заново — /start.",
        "use_buttons": "Эта кнопка устарела.",
    },
    "uk": {
        "privacy": (
            "Як {company} поводиться з вашими даними\n\n"
            "Що зберігаємо: ваші відповіді в опитуванні, а ім'я, телефон і e-mail — лише після "
            "вашої згоди.\nНавіщо: підготувати пропозицію й зв'язатися з вами щодо неї; "
            "розсилку — лише якщо ви на неї погодилися.\nХто бачить: менеджери {company}."
            "{recipients}\n"
            "Скільки зберігаємо: {days} днів після вашого останнього повідомлення, потім "
            "знеособлюємо.\n\nВаші права:\n/mydata — файл з усіма даними про вас\n"
            "/stop — відмовитися від розсилки\n/forget — видалити ім'я, телефон, e-mail і ваші "
            "відповіді своїми словами\n\nПовідомлення, вже доставлене менеджеру, він міг "
            "скопіювати або переслати: за /forget бот виправляє свої повідомлення, але копії "
            "йому недоступні.\n\nПитання: {contact}\nПолітика повністю: {policy_url}"),
        "recipients": " Також дані отримують сервіси, у яких ми ведемо заявки: {names}.",
        "conversions": " Про кваліфіковану заявку й продаж ми повідомляємо рекламним "
                       "майданчикам {names}, щоб оцінювати рекламу{hashed}; те, що майданчик "
                       "уже отримав, залишається в нього за його правилами зберігання, а "
                       "/forget зупиняє все, що ще не надіслано.",
        "hashed": " ({names} — з вашим телефоном і e-mail у вигляді хешу)",
        "mydata_conversions": " Які позначки про заявку отримали рекламні майданчики — у "
                              "«conversions».",
        "no_contact": "через цей чат",
        "ask_mydata": "Надіслати вам файл з усіма даними, які ми про вас зберігаємо?",
        "yes_mydata": "Так, надіслати",
        "ask_stop": "Відмовитися від рекламної розсилки {company}? Повідомлення щодо вашої "
                    "заявки це не зупинить.",
        "yes_stop": "Так, відмовитися",
        "ask_forget": "Видалити ваше ім'я, телефон, e-mail і відповіді своїми словами? Згоду "
                      "буде відкликано, скасувати видалення не можна.",
        "yes_forget": "Так, видалити",
        "cancel": "Скасувати",
        "cancelled": "Скасовано, нічого не змінилося.",
        "mydata_caption": "Усі дані про вас, які зберігає бот (JSON).",
        "stopped": "Готово: рекламних повідомлень більше не буде. Відмову записано.",
        "unsubscribe": "Відписатися",
        "unsubscribe_hint": "Не хочете таких повідомлень? Натисніть «Відписатися» або "
                            "надішліть /stop.",
        "not_subscribed": "Ви не підписані на розсилку — надсилати нічого. Відкладені "
                          "рекламні повідомлення скасовано.",
        "forgotten": "Готово: ваше ім'я, телефон, e-mail і відповіді своїми словами видалено, "
                     "згоду відкликано. Залишилася лише знеособлена статистика. Почати "
                     "знову — /start.",
        "use_buttons": "Ця кнопка застаріла.",
    },
    "en": {
        "privacy": (
            "How {company} handles your data\n\n"
            "What we keep: your answers to the quiz, and your name, phone and email only after "
            "you agree.\nWhy: to prepare an offer and contact you about it; marketing messages "
            "only if you opted in.\nWho sees it: {company}'s managers.{recipients}\n"
            "How long: {days} days after your last message, then it is anonymised.\n\n"
            "Your rights:\n/mydata — a file with everything stored about you\n"
            "/stop — no more marketing messages\n/forget — erase your name, phone, email and "
            "the answers in your own words\n\nA message already delivered to a manager may have "
            "been copied or forwarded by them: on /forget the bot edits its own messages, but "
            "it cannot reach copies.\n\nQuestions: {contact}\nFull policy: {policy_url}"),
        "recipients": " The data also goes to the services we keep requests in: {names}.",
        "conversions": " Qualified-lead and sale events go to the ad platforms {names} to "
                       "measure our ads{hashed}; what a platform has already received stays "
                       "with it under its own retention rules, and /forget stops anything not "
                       "yet sent.",
        "hashed": " ({names} with your phone and email as a hash)",
        "mydata_conversions": " What the ad platforms were told about your request: under "
                              "\"conversions\".",
        "no_contact": "in this chat",
        "ask_mydata": "Send you a file with all the data we hold about you?",
        "yes_mydata": "Yes, send it",
        "ask_stop": "Stop marketing messages from {company}? Messages about your request "
                    "are not affected.",
        "yes_stop": "Yes, stop them",
        "ask_forget": "Erase your name, phone, email and the answers in your own words? Your "
                      "consent is withdrawn; this cannot be undone.",
        "yes_forget": "Yes, erase",
        "cancel": "Cancel",
        "cancelled": "Cancelled, nothing changed.",
        "mydata_caption": "Everything the bot stores about you (JSON).",
        "stopped": "Done: no more marketing messages. Your withdrawal is recorded.",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_hint": "Don't want these messages? Tap “Unsubscribe” or send /stop.",
        "not_subscribed": "You are not subscribed to marketing messages, so there is nothing "
                          "to stop. Any pending ones are cancelled.",
        "forgotten": "Done: your name, phone, email and the answers in your own words are "
                     "erased and your consent is withdrawn. Only anonymous statistics remain. "
                     "To begin again: /start.",
        "use_buttons": "This button has expired.",
    },
}
RIGHTS_COMMANDS = {
    "ru": [("privacy", "Как мы храним данные"), ("mydata", "Мои данные файлом"),
           ("stop", "Отказаться от рассылки"), ("forget", "Удалить мои данные")],
    "uk": [("privacy", "Як ми зберігаємо дані"), ("mydata", "Мої дані файлом"),
           ("stop", "Відмовитися від розсилки"), ("forget", "Видалити мої дані")],
    "en": [("privacy", "How we handle your data"), ("mydata", "My data as a file"),
           ("stop", "Stop marketing messages"), ("forget", "Erase my data")],
}
for _language, _commands in RIGHTS_COMMANDS.items():
    COMMANDS[_language].extend(_commands)

# The managers' side (bot/handoff/), in LEADBOT_MANAGERS_LANGUAGE; to the prospect, theirs.
# amount_*: a won sale's amount (bot/handoff/sales.py); {example} and {cents} are amounts
# written the language's way (dialogs/rules/amounts.py), {currency} LEADBOT_CURRENCY.
MANAGERS = {
    "ru": {
        "hot": "🔥 Горячий", "warm": "🌤 Тёплый", "cold": "❄️ Холодный",
        "lead": "лид", "score": "баллы", "target": "целевой", "not_target": "нецелевой",
        "answers": "Ответы", "price": "Расчёт", "discount": "Скидка", "code": "промокод",
        "source": "Источник", "took": "заполнил за", "chat": "Написать в Telegram",
        "claim": "✋ Беру", "claimed": "✅ Взял(а) {name} через {seconds} с",
        "assigned": "👉 Назначен: {name}",
        "yours": "Лид ваш. Карточка — в личных сообщениях.",
        "taken": "Этот лид уже взял(а) {name}.",
        "not_manager": "Брать лиды могут только менеджеры.",
        "status": "Статус", "contacted": "📞 Связался", "meeting": "📅 Встреча назначена",
        "won": "🏆 Сделка", "lost": "✖ Отказ", "nurture": "↩ В прогрев",
        "lost_why": "Почему отказ?", "price_reason": "Дорого", "competitor": "Ушёл к конкурентам",
        "no_answer": "Не отвечает", "not_target_reason": "Нецелевой", "other": "Другое",
        "status_set": "Статус: {status}", "not_yours": "Этот лид ведёт другой менеджер.",
        "not_now": "Сейчас у лида статус «{status}»: так его не поменять.",
        "reminder": "⏰ Лид не взят уже {minutes} мин.",
        "escalated": "🚨 Лид не взят за {minutes} мин. в группе менеджеров.",
        "digest": "Новые лиды ({count}):",
        "erased": "🗑 Клиент удалил свои данные (/forget).",
        "expired": "🗑 Данные клиента удалены: срок их хранения истёк.",
        "after_hours_note": "вне рабочего времени; срок отсчитывается с открытия",
        "nurtured": "потеплел через прогрев за",
        "days": "д",
        "hours": "ч",
        "reply_hint": "Ответьте на это сообщение, чтобы написать клиенту через бота.",
        "relay_from": "💬 {name}: {text}", "relay_media": "(прислал(а) {kind} — откройте чат)",
        "end_chat": "Завершить переписку", "relay_ended": "Переписка с клиентом завершена.",
        "not_your_chat": "Этот лид ведёт другой менеджер.",
        "relay_erased": "Данные клиента удалены: писать ему через бота больше нельзя.",
        "amount_ask": "🏆 Сделка. Какая сумма, в {currency}? Ответьте на это сообщение числом, "
                      "например {example}",
        "amount_hint": "Сумма, {currency}",
        "amount_set": "Записано: {amount} {currency}",
        "amount_fixed": "Исправлено: {amount} {currency} (было {was})",
        "amount_bad": "Не получилось прочитать сумму. Ответьте на это сообщение числом в "
                      "{currency}, например {example} или {cents}.",
        "amount_not_won": "Сейчас у лида статус «{status}»: сумма записывается только для "
                          "сделки.",
        "amount_erased": "Клиент удалил свои данные: сумма не записана.",
        "start_me": "{name}, я не могу написать вам в личку: откройте {link} и нажмите "
                    "«Запустить» — карточка лида придёт туда.",
    },
    "uk": {
        "hot": "🔥 Гарячий", "warm": "🌤 Теплий", "cold": "❄️ Холодний",
        "lead": "лід", "score": "бали", "target": "цільовий", "not_target": "нецільовий",
        "answers": "Відповіді", "price": "Розрахунок", "discount": "Знижка",
        "code": "промокод", "source": "Джерело", "took": "заповнив за",
        "chat": "Написати в Telegram", "claim": "✋ Беру", "assigned": "👉 Призначено: {name}",
        "claimed": "✅ Взяв(ла) {name} через {seconds} с",
        "yours": "Лід ваш. Картка — в особистих повідомленнях.",
        "taken": "Цей лід уже взяв(ла) {name}.",
        "not_manager": "Брати ліди можуть лише менеджери.",
        "status": "Статус", "contacted": "📞 Зв'язався", "meeting": "📅 Зустріч призначено",
        "won": "🏆 Угода", "lost": "✖ Відмова", "nurture": "↩ У прогрів",
        "lost_why": "Чому відмова?", "price_reason": "Дорого",
        "competitor": "Пішов до конкурентів", "no_answer": "Не відповідає",
        "not_target_reason": "Нецільовий", "other": "Інше",
        "status_set": "Статус: {status}", "not_yours": "Цей лід веде інший менеджер.",
        "not_now": "Зараз у ліда статус «{status}»: так його не змінити.",
        "reminder": "⏰ Лід не взято вже {minutes} хв.",
        "escalated": "🚨 Лід не взято за {minutes} хв. у групі менеджерів.",
        "digest": "Нові ліди ({count}):",
        "erased": "🗑 Клієнт видалив свої дані (/forget).",
        "expired": "🗑 Дані клієнта видалено: строк їх зберігання минув.",
        "after_hours_note": "поза робочим часом; строк рахується з відкриття",
        "nurtured": "потеплішав через прогрів за",
        "days": "д",
        "hours": "год",
        "reply_hint": "Дайте відповідь на це повідомлення, щоб написати клієнту через бота.",
        "relay_from": "💬 {name}: {text}", "relay_media": "(надіслав(ла) {kind} — відкрийте чат)",
        "end_chat": "Завершити листування", "relay_ended": "Листування з клієнтом завершено.",
        "not_your_chat": "Цей лід веде інший менеджер.",
        "relay_erased": "Дані клієнта видалено: писати йому через бота більше не можна.",
        "amount_ask": "🏆 Угода. Яка сума, у {currency}? Дайте відповідь на це повідомлення "
                      "числом, наприклад {example}",
        "amount_hint": "Сума, {currency}",
        "amount_set": "Записано: {amount} {currency}",
        "amount_fixed": "Виправлено: {amount} {currency} (було {was})",
        "amount_bad": "Не вдалося прочитати суму. Дайте відповідь на це повідомлення числом у "
                      "{currency}, наприклад {example} або {cents}.",
        "amount_not_won": "Зараз у ліда статус «{status}»: суму записують лише для угоди.",
        "amount_erased": "Клієнт видалив свої дані: суму не записано.",
        "start_me": "{name}, я не можу написати вам в особисті: відкрийте {link} і натисніть "
                    "«Запустити» — картка ліда прийде туди.",
    },
    "en": {
        "hot": "🔥 Hot", "warm": "🌤 Warm", "cold": "❄️ Cold",
        "lead": "lead", "score": "score", "target": "target", "not_target": "not target",
        "answers": "Answers", "price": "Estimate", "discount": "Discount", "code": "code",
        "source": "Source", "took": "filled in within", "chat": "Write in Telegram",
        "claim": "✋ Claim", "claimed": "✅ Claimed by {name} after {seconds} s",
        "assigned": "👉 Assigned to {name}",
        "yours": "The lead is yours. Its card is in your private chat with me.",
        "taken": "{name} has already claimed this lead.",
        "not_manager": "Only managers can claim leads.",
        "status": "Status", "contacted": "📞 Contacted", "meeting": "📅 Meeting set",
        "won": "🏆 Won", "lost": "✖ Lost", "nurture": "↩ Back to nurture",
        "lost_why": "Why was it lost?", "price_reason": "Too expensive",
        "competitor": "Went to a competitor", "no_answer": "No answer",
        "not_target_reason": "Not a target client", "other": "Other",
        "status_set": "Status: {status}", "not_yours": "Another manager has this lead.",
        "not_now": "The lead is “{status}” now: that status cannot follow it.",
        "reminder": "⏰ Nobody has claimed this lead for {minutes} min.",
        "escalated": "🚨 Not claimed within {minutes} min in the managers' group.",
        "digest": "New leads ({count}):",
        "erased": "🗑 The client erased their data (/forget).",
        "expired": "🗑 The client's data was erased: its retention period ended.",
        "after_hours_note": "after hours; the SLA clock starts at opening time",
        "nurtured": "warmed up through nurture after",
        "days": "d",
        "hours": "h",
        "reply_hint": "Reply to this message to write to the client through the bot.",
        "relay_from": "💬 {name}: {text}", "relay_media": "(sent {kind}: open the chat)",
        "end_chat": "End the chat", "relay_ended": "The chat with the client has ended.",
        "not_your_chat": "Another manager has this lead.",
        "relay_erased": "The client's data has been erased: you can no longer write to "
                        "them through the bot.",
        "amount_ask": "🏆 Won. What is the amount, in {currency}? Reply to this message with a "
                      "number, e.g. {example}",
        "amount_hint": "Amount, {currency}",
        "amount_set": "Recorded: {amount} {currency}",
        "amount_fixed": "Corrected: {amount} {currency} (was {was})",
        "amount_bad": "That is not an amount I can read. Reply to this message with a number in "
                      "{currency}, e.g. {example} or {cents}.",
        "amount_not_won": "The lead is “{status}” now: an amount is recorded only for a won "
                          "sale.",
        "amount_erased": "The client erased their data: nothing was recorded.",
        "start_me": "{name}, I cannot write to you privately: open {link} and press Start, "
                    "and the lead's card will follow.",
    },
}
PROSPECT_HANDOFF = {
    "ru": {"claimed": "{name} уже занимается вашей заявкой и скоро свяжется с вами.",
           "relay": "💬 {name}: {text}", "end_chat": "Завершить переписку",
           "relay_ended": "Переписка с менеджером завершена. Спасибо!",
           "after_hours": "Сейчас мы не работаем. Менеджер свяжется с вами {when} "
                          "(время: {zone})."},
    "uk": {"claimed": "{name} вже займається вашою заявкою і скоро зв'яжеться з вами.",
           "relay": "💬 {name}: {text}", "end_chat": "Завершити листування",
           "relay_ended": "Листування з менеджером завершено. Дякуємо!",
           "after_hours": "Зараз ми не працюємо. Менеджер зв'яжеться з вами {when} "
                          "(час: {zone})."},
    "en": {"claimed": "{name} is already on your request and will contact you shortly.",
           "relay": "💬 {name}: {text}", "end_chat": "End the chat",
           "relay_ended": "The chat with the manager has ended. Thank you!",
           "after_hours": "We are closed right now. A manager will contact you {when} "
                          "({zone} time)."},
}
WEEKDAYS = {
    "ru": ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
           "в воскресенье"),
    "uk": ("у понеділок", "у вівторок", "у середу", "у четвер", "у п'ятницю", "у суботу",
           "у неділю"),
    "en": ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
           "on Saturday", "on Sunday"),
}
AFTER = {"ru": "после", "uk": "після", "en": "after"}
