"""An A/B experiment through the real bot: the shipped renovation calculator is experiment
`renovation-calculator` of two flows (variant a: renovation-calculator, variant b:
renovation-calculator-b, 50 / 50). A prospect gets the same variant every time."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.rules.experiments import assign
from storage.schema.tables import Conversation

WEIGHTS = [("a", 50), ("b", 50)]
OPENING = {"a": "Hello! This is Renovation Without Surprises.",
           "b": "What will your renovation cost?"}
BUTTON = {"a": "Calculate", "b": "See my price"}
FLOW = {"a": "renovation-calculator", "b": "renovation-calculator-b"}


def user_with(variant: str, start: int) -> int:
    return next(u for u in range(start, start + 1000)
                if assign("renovation-calculator", u, WEIGHTS) == variant)


async def conversations(running, user: int) -> list[tuple[str, str | None, str | None]]:
    async with running.app.sessions() as session:
        found = await session.execute(
            select(Conversation.flow_id, Conversation.experiment, Conversation.variant)
            .where(Conversation.user_id == user).order_by(Conversation.id))
        return [tuple(row) for row in found]


async def test_a_prospect_gets_the_same_variant_every_time(running_on_both):
    running = running_on_both
    for variant, first_id in (("a", 9100), ("b", 9100)):
        user = user_with(variant, first_id)
        prospect = running.prospect(user, "en")
        await prospect.start("renovation-calculator__ads")
        assert prospect.said()[-1].startswith(OPENING[variant])
        await prospect.tap(BUTTON[variant])
        await prospect.tap("An office, shop or café")  # closed: the conversation ends
        # again, by the menu this time, and by a link to the OTHER variant's own id: the
        # prospect's variant all the same (a link to one variant cannot bypass the split)
        await prospect.start()
        await prospect.tap(data="menu:renovation-calculator")
        assert prospect.said()[-1].startswith(OPENING[variant])
        other = FLOW["b" if variant == "a" else "a"]
        await prospect.start(other)
        assert prospect.said()[-1].startswith(OPENING[variant])
        recorded = await conversations(running, user)
        # two conversations: the second link found the second one still going
        assert len(recorded) == 2 and set(recorded) == {
            (FLOW[variant], "renovation-calculator", variant)}, recorded
        # after /forget the stable hash of their id still gives the same variant
        await prospect.command("/forget")
        await prospect.tap(data="rights:forget:yes")
        await prospect.start("renovation-calculator")
        assert prospect.said()[-1].startswith(OPENING[variant])


async def test_the_menu_shows_the_experiment_once(running):
    prospect = running.prospect(9300, "en")
    await prospect.start()
    [menu] = [[b["callback_data"] for b in buttons] for _, buttons in prospect.keyboards()
              if buttons[0]["callback_data"].startswith("menu:")]
    assert menu == ["menu:kitchen-quiz", "menu:renovation-calculator",
                    "menu:renovation-checklist"]
