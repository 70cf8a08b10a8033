"""Builds the PDFs the checklist flow sends (dialogs/flows/files/renovation-checklist-*.pdf).

Not part of the bot: run it after editing the texts below, in a throwaway environment:
    python3 -m venv /tmp/pdf && /tmp/pdf/bin/pip install fpdf2
    /tmp/pdf/bin/python tools/make_checklists.py
It needs the DejaVu Sans font (Debian: fonts-dejavu-core) for Cyrillic.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu")
OUT = Path(__file__).resolve().parent.parent / "dialogs" / "flows" / "files"

CHECKLIST = {
    "ru": {
        "title": "Чек-лист приёмки ремонта",
        "intro": "Пройдите по пунктам вместе с прорабом до подписания акта. Каждый пункт — "
                 "то, что потом дорого переделывать. Отметьте галочкой проверенное.",
        "sections": [
            ("Стены и потолки", [
                "Правило 2 м прикладываем в трёх направлениях: зазор не больше 2 мм.",
                "Углы 90°: проверяем угольником в каждом углу комнаты.",
                "Боковой свет фонарика не показывает волн и полос шпаклёвки.",
                "Обои: стыки не видны с 1 м, нет пузырей и отклеившихся краёв.",
            ]),
            ("Полы", [
                "Стяжка не звенит при простукивании (пустоты = трещины через год).",
                "Ламинат и паркет: зазор 8–10 мм у стен закрыт плинтусом.",
                "Плитка: швы одинаковой ширины, при простукивании нет пустот.",
                "Пороги между комнатами — в одном уровне или по проекту.",
            ]),
            ("Электрика", [
                "Каждая розетка проверена тестером, заземление подключено.",
                "В щитке подписана каждая линия, ванная — через УЗО 30 мА.",
                "Есть исполнительная схема проводки с размерами от углов.",
                "Выключатели на высоте по проекту, розетки не под раковиной.",
            ]),
            ("Сантехника", [
                "Опрессовка труб проведена при вас, давление держится 30 минут.",
                "Под ванной и раковиной сухо через час работы воды.",
                "Уклон пола в душевой — к трапу, вода не стоит.",
                "Ревизионные люки дают доступ к счётчикам и кранам.",
            ]),
            ("Окна и двери", [
                "Двери не открываются и не закрываются сами в любом положении.",
                "Зазоры двери одинаковые по периметру (2–4 мм).",
                "Откосы ровные, без трещин на стыке с окном.",
                "Окна закрываются без усилия, уплотнители целые.",
            ]),
            ("Документы", [
                "Акт скрытых работ по электрике, сантехнике и гидроизоляции.",
                "Гарантийный срок на работы записан в договоре (от 2 лет).",
                "Чеки и гарантийные талоны на материалы и технику.",
                "Фото стен до закрытия коммуникаций — на случай сверления.",
            ]),
        ],
        "footer": "«Ремонт без сюрпризов» · бесплатная консультация инженера: напишите боту.",
    },
    "uk": {
        "title": "Чек-лист приймання ремонту",
        "intro": "Пройдіть пункти разом із виконробом до підписання акта. Кожен пункт — те, "
                 "що потім дорого переробляти. Позначте галочкою перевірене.",
        "sections": [
            ("Стіни та стелі", [
                "Правило 2 м прикладаємо в трьох напрямках: зазор не більше 2 мм.",
                "Кути 90°: перевіряємо косинцем у кожному куті кімнати.",
                "Бічне світло ліхтарика не показує хвиль і смуг шпаклівки.",
                "Шпалери: стики не видно з 1 м, немає пухирів і відклеєних країв.",
            ]),
            ("Підлога", [
                "Стяжка не дзвенить під час простукування (порожнини = тріщини за рік).",
                "Ламінат і паркет: зазор 8–10 мм біля стін закритий плінтусом.",
                "Плитка: шви однакової ширини, під час простукування немає порожнин.",
                "Пороги між кімнатами — в одному рівні або за проєктом.",
            ]),
            ("Електрика", [
                "Кожна розетка перевірена тестером, заземлення підключене.",
                "У щитку підписана кожна лінія, ванна — через ПЗВ 30 мА.",
                "Є виконавча схема проводки з розмірами від кутів.",
                "Вимикачі на висоті за проєктом, розетки не під мийкою.",
            ]),
            ("Сантехніка", [
                "Опресування труб проведене при вас, тиск тримається 30 хвилин.",
                "Під ванною та мийкою сухо після години роботи води.",
                "Ухил підлоги в душовій — до трапу, вода не стоїть.",
                "Ревізійні люки дають доступ до лічильників і кранів.",
            ]),
            ("Вікна та двері", [
                "Двері не відчиняються й не зачиняються самі в будь-якому положенні.",
                "Зазори дверей однакові по периметру (2–4 мм).",
                "Укоси рівні, без тріщин на стику з вікном.",
                "Вікна зачиняються без зусиль, ущільнювачі цілі.",
            ]),
            ("Документи", [
                "Акт прихованих робіт з електрики, сантехніки та гідроізоляції.",
                "Гарантійний строк на роботи записаний у договорі (від 2 років).",
                "Чеки й гарантійні талони на матеріали та техніку.",
                "Фото стін до закриття комунікацій — на випадок свердління.",
            ]),
        ],
        "footer": "«Ремонт без сюрпризів» · безкоштовна консультація інженера: напишіть боту.",
    },
    "en": {
        "title": "Renovation hand-over checklist",
        "intro": "Go through these points with your site manager before you sign the "
                 "hand-over. Each one is expensive to fix later. Tick what you have checked.",
        "sections": [
            ("Walls and ceilings", [
                "A 2 m straightedge in three directions: no gap over 2 mm.",
                "Corners are square: check each corner with a set square.",
                "A torch held sideways shows no waves or filler streaks.",
                "Wallpaper: seams invisible from 1 m, no bubbles or lifting edges.",
            ]),
            ("Floors", [
                "The screed does not sound hollow when tapped (voids crack within a year).",
                "Laminate and parquet: the 8-10 mm gap at the walls is under the skirting.",
                "Tiles: even joints, no hollow sound when tapped.",
                "Thresholds between rooms are level, or as the project says.",
            ]),
            ("Electrics", [
                "Every socket tested with a tester, earth connected.",
                "Every circuit labelled in the fuse box, bathroom on a 30 mA RCD.",
                "An as-built wiring plan with distances from the corners.",
                "Switches at the planned height, no sockets under the sink.",
            ]),
            ("Plumbing", [
                "Pipes pressure-tested in front of you, pressure holds for 30 minutes.",
                "Dry under the bath and sink after an hour of running water.",
                "The shower floor slopes to the drain, no standing water.",
                "Access hatches reach the meters and shut-off valves.",
            ]),
            ("Windows and doors", [
                "Doors do not swing open or shut by themselves in any position.",
                "Door gaps are even all round (2-4 mm).",
                "Window reveals are straight, no cracks where they meet the frame.",
                "Windows close without force, seals intact.",
            ]),
            ("Paperwork", [
                "Sign-off of hidden work: electrics, plumbing, waterproofing.",
                "The warranty period for the work is in the contract (2 years or more).",
                "Receipts and warranty cards for materials and appliances.",
                "Photos of the walls before they were closed, for drilling later.",
            ]),
        ],
        "footer": "Renovation Without Surprises · a free consultation with an engineer: "
                  "message the bot.",
    },
}


def build(language: str, content: dict) -> Path:
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.add_font("DejaVu", "", str(FONT / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT / "DejaVuSans-Bold.ttf"))
    pdf.set_title(content["title"])
    pdf.set_author(content["footer"].split("·")[0].strip())
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 20)
    pdf.multi_cell(0, 10, content["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10.5)
    pdf.multi_cell(0, 5.5, content["intro"], new_x="LMARGIN", new_y="NEXT")
    for heading, items in content["sections"]:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 13)
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10.5)
        for item in items:
            pdf.multi_cell(0, 6, f"☐  {item}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, content["footer"], new_x="LMARGIN", new_y="NEXT")
    path = OUT / f"renovation-checklist-{language}.pdf"
    pdf.output(str(path))
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for language, content in CHECKLIST.items():
        print(build(language, content))
