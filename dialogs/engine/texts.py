"""The engine's own words: reminders, errors and button labels in every supported language.

Flow texts are written by the marketer in the flow file; these are the texts the engine
says on its own (when input is wrong, a button is stale, a field is optional ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SUPPORTED_LANGUAGES: tuple[str, ...] = ("ru", "uk", "en")

ENGINE_TEXTS: dict[str, dict[str, str]] = {
    "back": {"ru": "⬅ Назад", "uk": "⬅ Назад", "en": "⬅ Back"},
    "done": {"ru": "✅ Готово", "uk": "✅ Готово", "en": "✅ Done"},
    "skip": {"ru": "Пропустить", "uk": "Пропустити", "en": "Skip"},
    "continue": {"ru": "Продолжить", "uk": "Продовжити", "en": "Continue"},
    "share_phone": {
        "ru": "📱 Отправить мой номер",
        "uk": "📱 Надіслати мій номер",
        "en": "📱 Share my phone number",
    },
    "policy": {"ru": "Политика обработки данных", "uk": "Політика обробки даних",
               "en": "Privacy policy"},
    "yes": {"ru": "Да", "uk": "Так", "en": "Yes"},
    "no": {"ru": "Нет", "uk": "Ні", "en": "No"},
    "use_buttons": {
        "ru": "Пожалуйста, выберите вариант кнопкой ниже 👇",
        "uk": "Будь ласка, оберіть варіант кнопкою нижче 👇",
        "en": "Please choose one of the buttons below 👇",
    },
    "use_buttons_multi": {
        "ru": "Отметьте подходящие варианты кнопками и нажмите «Готово» 👇",
        "uk": "Позначте потрібні варіанти кнопками й натисніть «Готово» 👇",
        "en": "Tick what applies with the buttons, then press “Done” 👇",
    },
    "need_text": {
        "ru": "Пожалуйста, ответьте текстом.",
        "uk": "Будь ласка, дайте відповідь текстом.",
        "en": "Please answer with a text message.",
    },
    "pick_at_least": {
        "ru": "Выберите хотя бы {min} вариант(а), затем «Готово».",
        "uk": "Оберіть щонайменше {min} варіант(и), потім «Готово».",
        "en": "Please pick at least {min}, then press “Done”.",
    },
    "pick_at_most": {
        "ru": "Можно выбрать не больше {max}.",
        "uk": "Можна обрати не більше {max}.",
        "en": "You can pick at most {max}.",
    },
    "text_too_short": {
        "ru": "Слишком коротко — напишите хотя бы {min} символов.",
        "uk": "Занадто коротко — напишіть хоча б {min} символів.",
        "en": "That is a bit short — please write at least {min} characters.",
    },
    "text_too_long": {
        "ru": "Слишком длинно — уложитесь в {max} символов, пожалуйста.",
        "uk": "Занадто довго — вкладіться в {max} символів, будь ласка.",
        "en": "That is too long — please keep it under {max} characters.",
    },
    "number_invalid": {
        "ru": "Пожалуйста, введите число, например: {example}",
        "uk": "Будь ласка, введіть число, наприклад: {example}",
        "en": "Please enter a number, for example: {example}",
    },
    "number_whole": {
        "ru": "Нужно целое число, например: {example}",
        "uk": "Потрібне ціле число, наприклад: {example}",
        "en": "Please enter a whole number, for example: {example}",
    },
    "number_range": {
        "ru": "Введите число от {min} до {max}.",
        "uk": "Введіть число від {min} до {max}.",
        "en": "Please enter a number from {min} to {max}.",
    },
    "number_which": {
        "ru": "Уточните, пожалуйста: {whole} или {fraction}? Напишите число ещё раз: "
              "{whole} или {fraction}.",
        "uk": "Уточніть, будь ласка: {whole} чи {fraction}? Напишіть число ще раз: "
              "{whole} або {fraction}.",
        "en": "Just to be sure: {whole} or {fraction}? Please type the number again: "
              "{whole} or {fraction}.",
    },
    "number_min": {
        "ru": "Введите число не меньше {min}.",
        "uk": "Введіть число не менше {min}.",
        "en": "Please enter a number of at least {min}.",
    },
    "number_max": {
        "ru": "Введите число не больше {max}.",
        "uk": "Введіть число не більше {max}.",
        "en": "Please enter a number no greater than {max}.",
    },
    "ask_name": {
        "ru": "Как к вам обращаться?",
        "uk": "Як до вас звертатися?",
        "en": "What is your name?",
    },
    "ask_phone": {
        "ru": "Ваш номер телефона? Нажмите кнопку ниже или напишите номер.",
        "uk": "Ваш номер телефону? Натисніть кнопку нижче або напишіть номер.",
        "en": "Your phone number? Tap the button below or type the number.",
    },
    "ask_email": {
        "ru": "Ваш e-mail?",
        "uk": "Ваш e-mail?",
        "en": "Your email address?",
    },
    "name_invalid": {
        "ru": "Напишите, пожалуйста, имя буквами (от 2 до 60 символов).",
        "uk": "Напишіть, будь ласка, ім'я літерами (від 2 до 60 символів).",
        "en": "Please write your name in letters (2 to 60 characters).",
    },
    "name_forwarded": {
        "ru": "Это пересланное сообщение. Напишите, пожалуйста, своё имя сами.",
        "uk": "Це переслане повідомлення. Напишіть, будь ласка, своє ім'я самі.",
        "en": "That is a forwarded message. Please type your name yourself.",
    },
    "phone_invalid": {
        "ru": "Не получается распознать номер. Напишите его с кодом страны, например: {example}",
        "uk": "Не вдається розпізнати номер. Напишіть його з кодом країни, наприклад: {example}",
        "en": "I could not read that number. Please type it with the country code, "
              "for example: {example}",
    },
    "email_invalid": {
        "ru": "Похоже, в адресе опечатка. Напишите e-mail в виде name@example.com",
        "uk": "Схоже, в адресі помилка. Напишіть e-mail у вигляді name@example.com",
        "en": "That address does not look right. Please write it like name@example.com",
    },
    "contact_not_own": {
        "ru": "Это чужой контакт 🙂 Нажмите кнопку «Отправить мой номер» или напишите свой номер.",
        "uk": "Це чужий контакт 🙂 Натисніть «Надіслати мій номер» або напишіть свій номер.",
        "en": "That is someone else's contact 🙂 Tap “Share my phone number” "
              "or type your own number.",
    },
    "contact_not_expected": {
        "ru": "Спасибо! Номер понадобится чуть позже — сейчас ответьте, пожалуйста, на вопрос.",
        "uk": "Дякуємо! Номер знадобиться трохи пізніше — зараз дайте відповідь на питання.",
        "en": "Thank you! We will ask for the number a little later — "
              "please answer the question first.",
    },
    "media_not_expected": {
        "ru": "Я пока понимаю только текст и кнопки 🙂",
        "uk": "Я поки що розумію лише текст і кнопки 🙂",
        "en": "I can only read text and buttons for now 🙂",
    },
    "stale_version": {
        "ru": "Этот опрос обновился. Продолжим с текущего вопроса 👇",
        "uk": "Це опитування оновилося. Продовжимо з поточного питання 👇",
        "en": "This quiz has been updated. Let's carry on from the current question 👇",
    },
    "stale_step": {
        "ru": "Этот вопрос уже позади. Чтобы изменить ответ, нажмите «Назад».",
        "uk": "Це питання вже позаду. Щоб змінити відповідь, натисніть «Назад».",
        "en": "That question is behind us. To change an answer, press “Back”.",
    },
    "stale_finished": {
        "ru": "Этот опрос уже завершён. Начать заново: /restart",
        "uk": "Це опитування вже завершено. Почати знову: /restart",
        "en": "This quiz is already finished. To start again: /restart",
    },
    "finished_hint": {
        "ru": "Мы уже получили ваши ответы, спасибо! Начать заново: /restart",
        "uk": "Ми вже отримали ваші відповіді, дякуємо! Почати знову: /restart",
        "en": "We already have your answers, thank you! To start again: /restart",
    },
    "nothing_back": {
        "ru": "Это первый вопрос — назад некуда.",
        "uk": "Це перше питання — назад нікуди.",
        "en": "This is the first question — there is nothing to go back to.",
    },
    "noted": {"ru": "Принято", "uk": "Прийнято", "en": "Noted"},
    "reminder": {
        "ru": "Вы остановились на середине — осталось совсем немного. Продолжим с того же места?",
        "uk": "Ви зупинилися на середині — лишилося зовсім трохи. Продовжимо з того ж місця?",
        "en": "You stopped halfway, and there is only a little left. Shall we carry on?",
    },
    "resume": {"ru": "▶ Продолжить", "uk": "▶ Продовжити", "en": "▶ Continue"},
    "nurture_thanks": {
        "ru": "Спасибо, учли 👍", "uk": "Дякуємо, врахували 👍", "en": "Thank you, noted 👍",
    },
    "nurture_hot": {
        "ru": "Спасибо! Передали менеджеру — он скоро свяжется с вами.",
        "uk": "Дякуємо! Передали менеджеру — він незабаром зв'яжеться з вами.",
        "en": "Thank you! A manager has your request and will be in touch shortly.",
    },
    "welcome_back": {
        "ru": "С возвращением! Продолжим с того же места 👇",
        "uk": "З поверненням! Продовжимо з того ж місця 👇",
        "en": "Welcome back! Let's carry on where we left off 👇",
    },
    "language_changed": {
        "ru": "Язык: русский.",
        "uk": "Мова: українська.",
        "en": "Language: English.",
    },
    "language_unavailable": {
        "ru": "Этот опрос доступен на языках: {languages}.",
        "uk": "Це опитування доступне мовами: {languages}.",
        "en": "This quiz is available in: {languages}.",
    },
    "chosen": {"ru": "Ваш ответ: {answer}", "uk": "Ваша відповідь: {answer}",
               "en": "Your answer: {answer}"},
    "consent_declined_answer": {"ru": "Не согласен(на)", "uk": "Не погоджуюсь",
                                "en": "Declined"},
    # `{recipients}` in a consent text: everyone besides the company the data goes to
    "recipients_none": {"ru": "Больше никому их не передаём.",
                        "uk": "Більше нікому їх не передаємо.",
                        "en": "We pass them to no one else."},
    "recipients_some": {
        "ru": "Их также получают сервисы, в которых мы ведём заявки: {names}.",
        "uk": "Їх також отримують сервіси, у яких ми ведемо заявки: {names}.",
        "en": "They also go to the services we keep requests in: {names}.",
    },
    # ... and the ad platforms sent conversions (LEADBOT_CONVERSIONS_FILE)
    "recipients_ads": {
        "ru": "Рекламные площадки узнают, как прошла заявка (например, что она стала "
              "горячей или закончилась покупкой), без ваших ответов, чтобы мы видели, какая "
              "реклама работает: {names}.",
        "uk": "Рекламні майданчики дізнаються, як пройшла заявка (наприклад, що вона стала "
              "гарячою чи завершилася покупкою), без ваших відповідей, щоб ми бачили, яка "
              "реклама працює: {names}.",
        "en": "Ad platforms learn how your request went (say, that it became a hot lead or "
              "a sale), without your answers, so we can see which ads work: {names}.",
    },
    "recipients_hashed": {"ru": "{name} (с телефоном и e-mail в виде хеша)",
                          "uk": "{name} (з телефоном і e-mail у вигляді хешу)",
                          "en": "{name} (with your phone and email as a hash)"},
    "thanks": {"ru": "Спасибо!", "uk": "Дякуємо!", "en": "Thank you!"},
    "keyboard_closed": {"ru": "Хорошо.", "uk": "Добре.", "en": "OK."},
    "calc_failed": {
        "ru": "Точную сумму посчитает наш специалист — это бесплатно.",
        "uk": "Точну суму порахує наш фахівець — це безкоштовно.",
        "en": "Our specialist will work out the exact figure for you — free of charge.",
    },
    "skipped": {"ru": "пропущено", "uk": "пропущено", "en": "skipped"},
    "did_you_mean": {"ru": "Вы имели в виду…? 👇", "uk": "Ви мали на увазі…? 👇",
                     "en": "Did you mean…? 👇"},
    "range_label": {"ru": "от {low} до {high}", "uk": "від {low} до {high}",
                    "en": "{low} to {high}"},
}

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)?)\}")


def engine_text(key: str, language: str, **values: object) -> str:
    """The engine's text `key` in `language` (English when the language is unknown)."""
    texts = ENGINE_TEXTS[key]
    text = texts.get(language) or texts["en"]
    return fill(text, values) if values else text


def pick(text: Mapping[str, str], language: str, fallback: str) -> str:
    """One language of a localized text, falling back to the flow's default language."""
    return text.get(language) or text.get(fallback) or next(iter(text.values()), "")


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders a text uses, in order."""
    return _PLACEHOLDER.findall(text)


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace `{name}` placeholders with values; unknown names are left as they are.

    Deliberately not `str.format`: a flow file must not reach attributes of Python objects.
    """

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(replace, text)
