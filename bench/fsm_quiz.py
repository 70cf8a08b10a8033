"""What a team would write instead of leadbot: a plain aiogram 3 FSM quiz bot with
MemoryStorage (everything lost on a crash or restart, no rate limiter, no outbox). The same
kitchen quiz as the shipped flow — an intro, five single-choice questions, one
multiple-choice question, then the consent question — with the same calls per step as
leadbot: answer the tap, edit the answered question to show the choice, send the next one.

Run by bench/reply.py in its own process, against the fake Bot API:

    python bench/fsm_quiz.py API_URL TOKEN
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

INTRO = ("Hello! This is Oak & Stone, a custom kitchen workshop.\n\nAnswer 6 short questions — "
         "each answer adds 3 % to your discount, up to 15 %.")
QUESTIONS = [  # (step, text, [(option, label)], multiple)
    ("location", "Where will the kitchen be installed?",
     [("city", "In the city"), ("suburbs", "Within 50 km"), ("far", "Farther")], False),
    ("layout", "Which layout?", [("straight", "Straight"), ("corner", "L-shaped"),
                                 ("u-shaped", "U-shaped"), ("island", "With an island")], False),
    ("size", "How long is the wall?", [("small", "Up to 3 m"), ("medium", "3–5 m"),
                                       ("large", "Over 5 m"), ("unknown", "Not sure")], False),
    ("facades", "Facades?", [("laminate", "Laminate"), ("enamel", "Enamel"),
                             ("veneer", "Veneer"), ("undecided", "Not decided")], False),
    ("extras", "Anything else? Pick all that apply.",
     [("appliances", "Appliances"), ("stone-top", "Stone worktop"), ("lighting", "Lighting"),
      ("sink", "Sink and tap")], True),
    ("timing", "When do you need it?", [("month", "Within a month"), ("quarter", "1–3 months"),
                                        ("later", "Later"), ("browsing", "Just looking")], False),
]
CONSENT = ("Your discount is 15 %! To reserve it we need your name and phone number. "
           "By pressing “I agree” you allow us to process them.")


def keyboard(step: str, options: list[tuple[str, str]], multiple: bool,
             selected: list[str] = ()) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=("✅ " if o in selected else "") + label,
                                  callback_data=f"q:{step}:{o}")] for o, label in options]
    if multiple:
        rows.append([InlineKeyboardButton(text="Done", callback_data=f"q:{step}:~done")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def ask(message: Message, index: int) -> None:
    if index >= len(QUESTIONS):
        await message.answer(CONSENT, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="I agree", callback_data="q:consent:yes")]]))
        return
    step, text, options, multiple = QUESTIONS[index]
    await message.answer(text, reply_markup=keyboard(step, options, multiple))


def build() -> Dispatcher:
    dispatcher = Dispatcher(storage=MemoryStorage())

    @dispatcher.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_data({"index": -1, "answers": {}, "selected": []})
        await message.answer(INTRO, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Start", callback_data="q:intro:~go")]]))

    @dispatcher.callback_query(F.data.startswith("q:"))
    async def tap(query: CallbackQuery, state: FSMContext) -> None:
        data = await state.get_data()
        _, step, option = query.data.split(":")
        index = data.get("index", -1)
        if step == "intro":
            await query.answer()
            await state.update_data(index=0)
            await ask(query.message, 0)
            return
        if index < 0 or index >= len(QUESTIONS) or QUESTIONS[index][0] != step:
            await query.answer("Please use the latest question")
            return
        _, text, options, multiple = QUESTIONS[index]
        selected = list(data.get("selected", []))
        if multiple and option != "~done":
            selected.remove(option) if option in selected else selected.append(option)
            await state.update_data(selected=selected)
            await query.answer()
            await query.message.edit_text(text, reply_markup=keyboard(step, options, True,
                                                                      selected))
            return
        chosen = ", ".join(selected) if multiple else dict(options).get(option, option)
        answers = dict(data.get("answers", {})) | {step: chosen}
        await state.update_data(index=index + 1, answers=answers, selected=[])
        await query.answer()
        await query.message.edit_text(f"{text}\n\nYour answer: {chosen}")
        await ask(query.message, index + 1)

    return dispatcher


async def main(api_url: str, token: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    await build().start_polling(bot, handle_signals=True, close_bot_session=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
