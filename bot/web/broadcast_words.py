"""The Broadcasts pages' words (bot/web/broadcasts.py, templates/broadcasts.html and
broadcast.html) in en / ru / uk, merged into bot/web/i18n.py's WORDS; every key in every
language (tests/web/test_admin_auth.py checks none is missing).

May import: the standard library.
"""

from __future__ import annotations

BROADCASTS: dict[str, dict[str, str]] = {
    "en": {
        "broadcasts": "Broadcasts",
        "bc_title": "Broadcasts",
        "bc_none": "No broadcast yet.",
        "bc_name": "Name",
        "bc_status": "Status",
        "bc_created": "Created",
        "bc_send_at": "Send at",
        "bc_st_draft": "draft", "bc_st_scheduled": "scheduled", "bc_st_sending": "sending",
        "bc_st_paused": "paused", "bc_st_cancelled": "cancelled", "bc_st_done": "done",
        "bc_recipients": "recipients", "bc_pending": "still to write",
        "bc_queued": "written to the outbox", "bc_skipped": "skipped",
        "bc_delivered": "delivered", "bc_blocked": "blocked the bot", "bc_failed": "failed",
        "bc_dropped": "dropped", "bc_unknown": "unknown (maybe delivered)",
        "bc_waiting": "waiting in the outbox", "bc_unsubscribed": "unsubscribed",
        "bc_taps": "taps", "bc_flows_started": "flows started", "bc_leads": "leads",
        "bc_why_no_consent": "no marketing consent", "bc_why_stopped": "stopped (/stop, "
                                                                       "Unsubscribe)",
        "bc_why_blocked": "blocked the bot", "bc_why_erased": "erased (/forget)",
        "bc_why_cancelled": "cancelled",
        "bc_results": "What came of it",
        "bc_results_hint": "What became of each message is its outbox row's status: "
                           "unknown means the bot was stopped mid-call (never sent again). "
                           "Flows started and leads: conversations with the source "
                           "broadcast:{name}.",
        "bc_skipped_by": "Skipped, why",
        "bc_left_out": "Left out when it was sent",
        "bc_reach": "Who it would reach now",
        "bc_reach_count": "{n} people would get it now.",
        "bc_reach_hint": "Only people whose marketing consent is in force, who have not "
                         "blocked the bot, stopped or been erased. The segment is chosen "
                         "again when it is sent.",
        "bc_nobody_left_out": "Nobody is left out.",
        "bc_segment": "Who it is for",
        "bc_everyone": "Everyone with marketing consent in force.",
        "bc_seg_flows": "Flows", "bc_seg_versions": "Versions", "bc_seg_variants": "Variants",
        "bc_seg_sources": "Sources", "bc_seg_campaigns": "Campaigns",
        "bc_seg_temperatures": "Temperature", "bc_seg_qualified": "Qualified",
        "bc_seg_statuses": "Status is", "bc_seg_not_statuses": "Status is not",
        "bc_seg_answers": "Answers", "bc_seg_started": "Started",
        "bc_seg_active": "Last active", "bc_seg_languages": "Languages",
        "bc_no_source": "no source",
        "bc_from": "from {day}", "bc_to": "to {day}", "bc_after": "after {day}",
        "bc_before": "before {day}",
        "bc_message": "The message",
        "bc_message_hint": "As written in the file (Telegram's HTML). {name} becomes the "
                           "lead's name; how to stop and the Unsubscribe button are added.",
        "bc_fallback": "Fallback language",
        "bc_photo": "Photo", "bc_document": "Document",
        "bc_buttons": "Buttons",
        "bc_button_url": "link", "bc_button_flow": "starts the flow",
        "bc_button_answer": "answer", "bc_points": "points",
        "bc_tapped": "tapped by",
        "bc_actions": "Send and control",
        "bc_act_send": "Send now", "bc_act_schedule": "Schedule",
        "bc_act_pause": "Pause", "bc_act_resume": "Resume", "bc_act_cancel": "Cancel",
        "bc_act_preview": "Send a preview",
        "bc_file_time": "The file says to send it at {when}: Send schedules it for then; "
                        "give another time below to change it.",
        "bc_send_file_time": "Schedule for {when}",
        "bc_when": "When ({zone})",
        "bc_send_hint": "Sending chooses the segment now and writes one message per "
                        "person; the running bot sends them at its broadcast share.",
        "bc_pause_hint": "Pausing stops writing new messages; the few seconds' worth "
                         "already queued still go.",
        "bc_cancel_hint": "Cancelling is for good: nobody else gets it.",
        "bc_chat": "Your Telegram chat id",
        "bc_chat_hint": "Your Telegram user id (/start the bot first). The message comes "
                        "as a recipient would get it; its buttons do nothing for you.",
        "bc_lang_all": "each language",
        "bc_language": "Language",
        "bc_over": "This broadcast is over: nothing more can be done with it.",
        "bc_not_yours": "Only sales or an owner sends, pauses or creates broadcasts.",
        "bc_forbidden": "Only sales or an owner sends, pauses or creates broadcasts: ask "
                        "an owner of the dashboard.",
        "bc_done_created": "Saved as a draft. Check who it would reach, send a preview, "
                           "then send it.",
        "bc_done_scheduled": "Scheduled: its segment is chosen when the time comes.",
        "bc_done_sending": "Sending: the recipients are written; the running bot sends "
                           "them.",
        "bc_done_paused": "Paused.", "bc_done_resumed": "Sending again.",
        "bc_done_cancelled": "Cancelled: nobody else gets it.",
        "bc_done_previewed": "The preview is queued: the running bot sends it within "
                             "seconds.",
        "bc_refused": "Not done: this broadcast is {status} now; “{action}” does not "
                      "apply to it.",
        "bc_time_missing": "Pick the day and time to send it.",
        "bc_time_bad": "That is not a time: pick the day and the time.",
        "bc_time_past": "That time has passed: pick one ahead.",
        "bc_chat_bad": "A chat id is a whole number, like 123456789.",
        "bc_chat_unknown": "Nobody with this chat id has started the bot: open the bot in "
                           "Telegram, send /start, then try again (Telegram lets a bot write "
                           "only to those who did).",
        "bc_not_found": "No such broadcast",
        "bc_not_found_hint": "It may have been a draft replaced by another name.",
        "bc_back": "All broadcasts",
        "bc_create": "New broadcast",
        "bc_file": "The broadcast file (YAML)",
        "bc_create_hint": "Paste the file as docs/broadcasts.md describes it. It is checked "
                          "like a flow against the flows the bot runs; a draft of the "
                          "same name is replaced. A photo or a document only as an "
                          "https:// URL here.",
        "bc_check": "Check and save as a draft",
        "bc_refused_file": "Not saved: the file has problems",
        "bc_line": "line",
        "bc_empty": "Paste the broadcast file first.",
        "bc_too_long": "The file is too long: at most {most} characters.",
        "bc_name_taken": "A broadcast named “{name}” exists already ({status}): a name is "
                         "used once; give this one another name.",
        "bc_by": "by {who}",
        "bc_started": "Started", "bc_finished": "Finished",
        "bc_times": "Times in {zone} (LEADBOT_TIMEZONE).",
        "bc_name_raced": "A broadcast named “{name}” was saved meanwhile elsewhere: open "
                         "it from the list, or give this one another name.",
    },
    "ru": {
        "broadcasts": "Рассылки",
        "bc_title": "Рассылки",
        "bc_none": "Рассылок пока нет.",
        "bc_name": "Название",
        "bc_status": "Статус",
        "bc_created": "Создана",
        "bc_send_at": "Отправка",
        "bc_st_draft": "черновик", "bc_st_scheduled": "запланирована",
        "bc_st_sending": "отправляется", "bc_st_paused": "на паузе",
        "bc_st_cancelled": "отменена", "bc_st_done": "завершена",
        "bc_recipients": "получателей", "bc_pending": "ещё не записаны",
        "bc_queued": "записаны в очередь", "bc_skipped": "пропущены",
        "bc_delivered": "доставлено", "bc_blocked": "заблокировали бота",
        "bc_failed": "ошибка", "bc_dropped": "сняты", "bc_unknown": "неизвестно (могли "
                                                                    "дойти)",
        "bc_waiting": "ждут в очереди", "bc_unsubscribed": "отписались",
        "bc_taps": "нажатия", "bc_flows_started": "начали сценарий", "bc_leads": "лиды",
        "bc_why_no_consent": "нет согласия на рекламу",
        "bc_why_stopped": "отказались (/stop, «Отписаться»)",
        "bc_why_blocked": "заблокировали бота", "bc_why_erased": "данные удалены (/forget)",
        "bc_why_cancelled": "отменено",
        "bc_results": "Что из этого вышло",
        "bc_results_hint": "Судьба каждого сообщения — статус его строки в очереди: "
                           "«неизвестно» — бот остановился во время отправки (повторно не "
                           "отправляется). Начали сценарий и лиды — разговоры с источником "
                           "broadcast:{name}.",
        "bc_skipped_by": "Пропущены, почему",
        "bc_left_out": "Не вошли при отправке",
        "bc_reach": "Кому уйдёт сейчас",
        "bc_reach_count": "Получат сейчас: {n}.",
        "bc_reach_hint": "Только те, чьё согласие на рекламу действует, кто не "
                         "заблокировал бота, не отказался и не удалил данные. При отправке "
                         "сегмент выбирается заново.",
        "bc_nobody_left_out": "Никто не исключён.",
        "bc_segment": "Кому",
        "bc_everyone": "Всем, чьё согласие на рекламу действует.",
        "bc_seg_flows": "Сценарии", "bc_seg_versions": "Версии", "bc_seg_variants": "Варианты",
        "bc_seg_sources": "Источники", "bc_seg_campaigns": "Кампании",
        "bc_seg_temperatures": "Температура", "bc_seg_qualified": "Квалификация",
        "bc_seg_statuses": "Статус", "bc_seg_not_statuses": "Статус не",
        "bc_seg_answers": "Ответы", "bc_seg_started": "Начали",
        "bc_seg_active": "Последняя активность", "bc_seg_languages": "Языки",
        "bc_no_source": "без источника",
        "bc_from": "с {day}", "bc_to": "по {day}", "bc_after": "после {day}",
        "bc_before": "до {day}",
        "bc_message": "Сообщение",
        "bc_message_hint": "Как написано в файле (HTML Telegram). {name} заменяется именем "
                           "лида; как отписаться и кнопка «Отписаться» добавляются.",
        "bc_fallback": "Язык по умолчанию",
        "bc_photo": "Фото", "bc_document": "Документ",
        "bc_buttons": "Кнопки",
        "bc_button_url": "ссылка", "bc_button_flow": "запускает сценарий",
        "bc_button_answer": "ответ", "bc_points": "баллы",
        "bc_tapped": "нажали",
        "bc_actions": "Отправка и управление",
        "bc_act_send": "Отправить сейчас", "bc_act_schedule": "Запланировать",
        "bc_act_pause": "Пауза", "bc_act_resume": "Продолжить", "bc_act_cancel": "Отменить",
        "bc_act_preview": "Отправить пробное",
        "bc_file_time": "В файле указано отправить {when}: «Отправить» запланирует на это "
                        "время; чтобы изменить, укажите другое ниже.",
        "bc_send_file_time": "Запланировать на {when}",
        "bc_when": "Когда ({zone})",
        "bc_send_hint": "При отправке сегмент выбирается сейчас и на каждого человека "
                        "пишется одно сообщение; работающий бот отправляет их в своей доле "
                        "для рассылок.",
        "bc_pause_hint": "Пауза останавливает запись новых сообщений; уже поставленные в "
                         "очередь (на несколько секунд) всё равно уйдут.",
        "bc_cancel_hint": "Отмена — навсегда: больше никто её не получит.",
        "bc_chat": "Ваш chat id в Telegram",
        "bc_chat_hint": "Ваш id пользователя Telegram (сначала нажмите /start в боте). "
                        "Сообщение придёт так, как его получит адресат; его кнопки для вас "
                        "ничего не делают.",
        "bc_lang_all": "каждый язык",
        "bc_language": "Язык",
        "bc_over": "Эта рассылка завершена: с ней больше ничего не сделать.",
        "bc_not_yours": "Отправлять, ставить на паузу и создавать рассылки могут только "
                        "продажи и владелец.",
        "bc_forbidden": "Отправлять, ставить на паузу и создавать рассылки могут только "
                        "продажи и владелец: обратитесь к владельцу панели.",
        "bc_done_created": "Сохранено как черновик. Проверьте, кому уйдёт, отправьте "
                           "пробное, затем отправляйте.",
        "bc_done_scheduled": "Запланировано: сегмент выберется, когда придёт время.",
        "bc_done_sending": "Отправляется: получатели записаны, работающий бот их отправляет.",
        "bc_done_paused": "На паузе.", "bc_done_resumed": "Снова отправляется.",
        "bc_done_cancelled": "Отменено: больше никто её не получит.",
        "bc_done_previewed": "Пробное сообщение в очереди: работающий бот отправит его за "
                             "несколько секунд.",
        "bc_refused": "Не сделано: рассылка сейчас в статусе «{status}»; действие "
                      "«{action}» к ней не применимо.",
        "bc_time_missing": "Выберите день и время отправки.",
        "bc_time_bad": "Это не время: выберите день и время.",
        "bc_time_past": "Это время уже прошло: выберите будущее.",
        "bc_chat_bad": "Chat id — целое число, например 123456789.",
        "bc_chat_unknown": "С этим chat id никто не запускал бота: откройте бота в Telegram, "
                           "отправьте /start и попробуйте снова (Telegram разрешает боту "
                           "писать только тем, кто это сделал).",
        "bc_not_found": "Такой рассылки нет",
        "bc_not_found_hint": "Возможно, это был черновик, заменённый другим названием.",
        "bc_back": "Все рассылки",
        "bc_create": "Новая рассылка",
        "bc_file": "Файл рассылки (YAML)",
        "bc_create_hint": "Вставьте файл, как описано в docs/broadcasts.md. Он проверяется, "
                          "как сценарий, по сценариям бота; черновик с тем же названием "
                          "заменяется. Фото или документ здесь — только ссылкой https://.",
        "bc_check": "Проверить и сохранить черновик",
        "bc_refused_file": "Не сохранено: в файле ошибки",
        "bc_line": "строка",
        "bc_empty": "Сначала вставьте файл рассылки.",
        "bc_too_long": "Файл слишком длинный: не больше {most} символов.",
        "bc_name_taken": "Рассылка «{name}» уже есть ({status}): название используется "
                         "один раз; дайте этой другое.",
        "bc_by": "автор: {who}",
        "bc_started": "Начата", "bc_finished": "Закончена",
        "bc_times": "Время — {zone} (LEADBOT_TIMEZONE).",
        "bc_name_raced": "Рассылку «{name}» только что сохранили в другом месте: откройте "
                         "её из списка или дайте этой другое название.",
    },
    "uk": {
        "broadcasts": "Розсилки",
        "bc_title": "Розсилки",
        "bc_none": "Розсилок поки немає.",
        "bc_name": "Назва",
        "bc_status": "Статус",
        "bc_created": "Створено",
        "bc_send_at": "Надсилання",
        "bc_st_draft": "чернетка", "bc_st_scheduled": "заплановано",
        "bc_st_sending": "надсилається", "bc_st_paused": "на паузі",
        "bc_st_cancelled": "скасовано", "bc_st_done": "завершено",
        "bc_recipients": "отримувачів", "bc_pending": "ще не записані",
        "bc_queued": "записані в чергу", "bc_skipped": "пропущені",
        "bc_delivered": "доставлено", "bc_blocked": "заблокували бота",
        "bc_failed": "помилка", "bc_dropped": "зняті", "bc_unknown": "невідомо (могли "
                                                                     "дійти)",
        "bc_waiting": "чекають у черзі", "bc_unsubscribed": "відписалися",
        "bc_taps": "натискання", "bc_flows_started": "почали сценарій", "bc_leads": "ліди",
        "bc_why_no_consent": "немає згоди на рекламу",
        "bc_why_stopped": "відмовилися (/stop, «Відписатися»)",
        "bc_why_blocked": "заблокували бота", "bc_why_erased": "дані видалено (/forget)",
        "bc_why_cancelled": "скасовано",
        "bc_results": "Що з цього вийшло",
        "bc_results_hint": "Доля кожного повідомлення — статус його рядка в черзі: "
                           "«невідомо» — бот зупинився під час надсилання (повторно не "
                           "надсилається). Почали сценарій і ліди — розмови з джерелом "
                           "broadcast:{name}.",
        "bc_skipped_by": "Пропущені, чому",
        "bc_left_out": "Не ввійшли під час надсилання",
        "bc_reach": "Кому піде зараз",
        "bc_reach_count": "Отримають зараз: {n}.",
        "bc_reach_hint": "Лише ті, чия згода на рекламу діє, хто не заблокував бота, не "
                         "відмовився й не видалив дані. Під час надсилання сегмент "
                         "обирається знову.",
        "bc_nobody_left_out": "Нікого не виключено.",
        "bc_segment": "Кому",
        "bc_everyone": "Усім, чия згода на рекламу діє.",
        "bc_seg_flows": "Сценарії", "bc_seg_versions": "Версії", "bc_seg_variants": "Варіанти",
        "bc_seg_sources": "Джерела", "bc_seg_campaigns": "Кампанії",
        "bc_seg_temperatures": "Температура", "bc_seg_qualified": "Кваліфікація",
        "bc_seg_statuses": "Статус", "bc_seg_not_statuses": "Статус не",
        "bc_seg_answers": "Відповіді", "bc_seg_started": "Почали",
        "bc_seg_active": "Остання активність", "bc_seg_languages": "Мови",
        "bc_no_source": "без джерела",
        "bc_from": "з {day}", "bc_to": "по {day}", "bc_after": "після {day}",
        "bc_before": "до {day}",
        "bc_message": "Повідомлення",
        "bc_message_hint": "Як написано у файлі (HTML Telegram). {name} замінюється ім'ям "
                           "ліда; як відписатися й кнопка «Відписатися» додаються.",
        "bc_fallback": "Мова за замовчуванням",
        "bc_photo": "Фото", "bc_document": "Документ",
        "bc_buttons": "Кнопки",
        "bc_button_url": "посилання", "bc_button_flow": "запускає сценарій",
        "bc_button_answer": "відповідь", "bc_points": "бали",
        "bc_tapped": "натиснули",
        "bc_actions": "Надсилання й керування",
        "bc_act_send": "Надіслати зараз", "bc_act_schedule": "Запланувати",
        "bc_act_pause": "Пауза", "bc_act_resume": "Продовжити", "bc_act_cancel": "Скасувати",
        "bc_act_preview": "Надіслати пробне",
        "bc_file_time": "У файлі вказано надіслати {when}: «Надіслати» запланує на цей час; "
                        "щоб змінити, вкажіть інший нижче.",
        "bc_send_file_time": "Запланувати на {when}",
        "bc_when": "Коли ({zone})",
        "bc_send_hint": "Під час надсилання сегмент обирається зараз і на кожну людину "
                        "пишеться одне повідомлення; бот, що працює, надсилає їх у своїй "
                        "частці для розсилок.",
        "bc_pause_hint": "Пауза зупиняє запис нових повідомлень; уже поставлені в чергу "
                         "(на кілька секунд) все одно підуть.",
        "bc_cancel_hint": "Скасування — назавжди: більше ніхто її не отримає.",
        "bc_chat": "Ваш chat id у Telegram",
        "bc_chat_hint": "Ваш id користувача Telegram (спершу натисніть /start у боті). "
                        "Повідомлення прийде так, як його отримає адресат; його кнопки для "
                        "вас нічого не роблять.",
        "bc_lang_all": "кожна мова",
        "bc_language": "Мова",
        "bc_over": "Ця розсилка завершена: з нею більше нічого не зробити.",
        "bc_not_yours": "Надсилати, ставити на паузу й створювати розсилки можуть лише "
                        "продажі та власник.",
        "bc_forbidden": "Надсилати, ставити на паузу й створювати розсилки можуть лише "
                        "продажі та власник: зверніться до власника панелі.",
        "bc_done_created": "Збережено як чернетку. Перевірте, кому піде, надішліть пробне, "
                           "потім надсилайте.",
        "bc_done_scheduled": "Заплановано: сегмент обереться, коли настане час.",
        "bc_done_sending": "Надсилається: отримувачів записано, бот їх надсилає.",
        "bc_done_paused": "На паузі.", "bc_done_resumed": "Знову надсилається.",
        "bc_done_cancelled": "Скасовано: більше ніхто її не отримає.",
        "bc_done_previewed": "Пробне повідомлення в черзі: бот надішле його за кілька "
                             "секунд.",
        "bc_refused": "Не зроблено: розсилка зараз у статусі «{status}»; дія «{action}» до "
                      "неї не застосовна.",
        "bc_time_missing": "Виберіть день і час надсилання.",
        "bc_time_bad": "Це не час: виберіть день і час.",
        "bc_time_past": "Цей час уже минув: виберіть майбутній.",
        "bc_chat_bad": "Chat id — ціле число, наприклад 123456789.",
        "bc_chat_unknown": "З цим chat id ніхто не запускав бота: відкрийте бота в Telegram, "
                           "надішліть /start і спробуйте знову (Telegram дозволяє боту "
                           "писати лише тим, хто це зробив).",
        "bc_not_found": "Такої розсилки немає",
        "bc_not_found_hint": "Можливо, це була чернетка, замінена іншою назвою.",
        "bc_back": "Усі розсилки",
        "bc_create": "Нова розсилка",
        "bc_file": "Файл розсилки (YAML)",
        "bc_create_hint": "Вставте файл, як описано в docs/broadcasts.md. Його перевіряють, "
                          "як сценарій, за сценаріями бота; чернетку з тією самою назвою "
                          "замінено. Фото чи документ тут — лише посиланням https://.",
        "bc_check": "Перевірити й зберегти чернетку",
        "bc_refused_file": "Не збережено: у файлі помилки",
        "bc_line": "рядок",
        "bc_empty": "Спершу вставте файл розсилки.",
        "bc_too_long": "Файл задовгий: не більше {most} символів.",
        "bc_name_taken": "Розсилка «{name}» уже є ({status}): назва використовується один "
                         "раз; дайте цій іншу.",
        "bc_by": "автор: {who}",
        "bc_started": "Почато", "bc_finished": "Завершено",
        "bc_times": "Час — {zone} (LEADBOT_TIMEZONE).",
        "bc_name_raced": "Розсилку «{name}» щойно збережено в іншому місці: відкрийте її "
                         "зі списку або дайте цій іншу назву.",
    },
}
