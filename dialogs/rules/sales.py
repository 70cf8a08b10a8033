"""Sales back from the CRM, pure and table-tested: what a CRM's stage means in leadbot's
words (Bitrix24's semantic ids and STATUS_ID / STAGE_ID, amoCRM's 142 / 143, the generic
hook's words), an amount as hundredths of the installation's currency, and whether what a
CRM says may follow the lead's current status (`follow`). bot/deliveries/crm/inbound reads the CRM,
storage/deliveries/sales.py applies the decision.

A CRM is where the sale is recorded: from a lead that is not being worked yet (open,
closed, handed off, claimed) it may set any status; from one a manager has moved on, only
what dialogs.rules.handoff.NEXT_STATUS lets follow (a won deal can fall through, a lost
lead cannot be won without being reopened first). Anything else is kept as the CRM's own
word on the lead: never dropped, never forced. A final stage (won, lost: Bitrix24's S / F,
amoCRM's 142 / 143, the generic hook's words) kept so alerts the managers; a stage still in
process (Bitrix24's P, amoCRM's other ids) is kept quietly (`quiet`): a six-stage pipeline
would otherwise alert at every move.

An amount that is leadbot's own calculator price (`estimate`: what leadbot wrote into the
CRM's one amount field when it created the record) read back with a won stage is not a sale:
it is leadbot's estimate coming back, whether the manager's amount came before it or not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Literal

from dialogs.rules.amounts import LIMIT
from dialogs.rules.handoff import LOST_REASONS, NEXT_STATUS, STATUSES

CRM_STATUSES = STATUSES  # what a CRM may set: contacted, meeting, won, lost, nurture
AMO_WON, AMO_LOST = 142, 143  # amoCRM's own ids, the same in every pipeline
# hundredths: one limit for a sale however it comes (a manager's reply, amounts.LIMIT
# whole units; a CRM's read-back; the generic hook): a sale is below it
MAX_AMOUNT = int(LIMIT) * 100
_AMOUNT = re.compile(r"^\d{1,16}(\.\d{1,2})?$")
WORD = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")  # a CRM's stage id as kept in crm_status

Decision = Literal["apply", "same", "kept", "quiet"]


@dataclass(frozen=True)
class Said:
    """What a CRM said about a lead, in leadbot's words where it has them."""

    status: str | None  # leadbot's status; None: a stage leadbot has no word for
    word: str  # the CRM's own word (a stage id, a status), kept when it cannot follow
    amount: int | None = None  # hundredths of `currency`
    currency: str | None = None
    reason: str | None = None  # of lost: one of LOST_REASONS
    in_process: bool = False  # a stage that is not final: kept quietly when it cannot follow


def amount_of(value: object) -> int | None:
    """`"150000.00"`, `150000`, `"1 500,5"` -> hundredths; None for nothing or zero;
    ValueError for what is not an amount (negative, three decimals, a word, MAX_AMOUNT or
    more). A JSON number (a float) is refused unless it is exactly what two decimals write
    (`0.125` is not 0.12 or 0.13: refused, as `"0.125"` is), never rounded."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not an amount")
    text = str(value).strip().replace(" ", "").replace(",", ".")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not an amount")
        exact = Decimal(repr(value))  # the shortest text that reads back as this float
        if exact != exact.quantize(Decimal("0.01")):
            raise ValueError("not an amount")
        text = f"{exact.quantize(Decimal('0.01')):f}"
    if not _AMOUNT.match(text):
        raise ValueError("not an amount")
    try:
        hundredths = int(Decimal(text) * 100)
    except InvalidOperation:
        raise ValueError("not an amount") from None
    if hundredths >= MAX_AMOUNT:
        raise ValueError("too large")
    return hundredths or None


def estimate_of(price: object) -> int | None:
    """The calculator's price (a conversation's `results.price`) in hundredths, as leadbot
    sends it to a CRM; None when there is none (or it is no amount)."""
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        return None
    try:
        return amount_of(round(price, 2) if isinstance(price, float) else price)
    except ValueError:
        return None


def reason_of(value: object) -> str | None:
    return value if isinstance(value, str) and value in LOST_REASONS else None


def stage_status(final: str | None, stage: object, current: str,
                 statuses: Mapping[str, object], own: Collection[object] = ()) -> str | None:
    """leadbot's status for a CRM's stage. `final`: won / lost when the CRM says so by
    itself (Bitrix24's semantic S / F, amoCRM's 142 / 143). A stage leadbot itself sets
    for the current status (the mapping's `statuses`) or by temperature (`own`: the
    mapping's `stages`, Bitrix24's NEW) is the current status: leadbot's own update coming
    back, no news. Otherwise the mapping read backwards; a stage several statuses map to
    (IN_PROCESS: claimed, contacted, meeting) means the earliest a CRM may set
    (contacted). None: a stage leadbot has no word for."""
    if final is not None:
        return final
    if statuses.get(current) == stage or stage in own:
        return current
    found = [status for status in CRM_STATUSES if statuses.get(status) == stage]
    return found[0] if found else None


def bitrix24_final(semantic: object) -> str | None:
    """STATUS_SEMANTIC_ID of a lead, STAGE_SEMANTIC_ID of a deal: S won, F lost, P (in
    process) says nothing by itself."""
    return {"S": "won", "F": "lost"}.get(semantic) if isinstance(semantic, str) else None


def amocrm_final(status_id: object) -> str | None:
    """amoCRM's status id: 142 won, 143 lost, in every pipeline."""
    return {AMO_WON: "won", AMO_LOST: "lost"}.get(status_id) \
        if isinstance(status_id, int) and not isinstance(status_id, bool) else None


def echoed(said: Said, estimate: int | None, unit: int = 1) -> Said:
    """What a CRM said, without an amount that is only leadbot's `estimate` (the
    calculator's price leadbot wrote into the CRM's record) read back with a won stage:
    that says won, not the sale's amount, whether it comes back before the manager typed
    the real amount or after (read back before the real one reached the CRM)."""
    if said.status == "won" and said.amount is not None and estimate is not None \
            and said.amount == _rounded(estimate, unit):
        return replace(said, amount=None)
    return said


def follow(current: str, said: Said, *, amount_now: int | None, currency: str,
           unit: int = 1) -> tuple[Decision, str]:
    """What a CRM's news does to a lead whose status is `current` (and whose sale is
    `amount_now`): `apply` it, it is the `same` as known (a repeat, an echo of leadbot's
    own update), or it is `kept` as the CRM's word (with why: `unknown_stage`,
    `cannot_follow`, `currency`), `quiet` when the stage is still in process (kept, no
    alert). `unit`: the hundredths a CRM rounds amounts to (amoCRM keeps whole units,
    100): leadbot's 150,000.50 sent there comes back as 150,001, the same sale, not a
    correction. Strip leadbot's own estimate first (`echoed`)."""
    if said.status is None:
        return ("quiet" if said.in_process else "kept"), "unknown_stage"
    if said.status == "won" and said.amount is not None and said.currency not in (
            None, currency):
        return "kept", "currency"
    if said.status == current:
        if said.status == "won" and said.amount is not None \
                and said.amount != _rounded(amount_now, unit):
            return "apply", "amount"  # the sale's amount changed in the CRM
        return "same", ""
    if current in NEXT_STATUS and current != "claimed" \
            and said.status not in NEXT_STATUS[current]:
        return ("quiet" if said.in_process else "kept"), "cannot_follow"
    return "apply", ""


def _rounded(hundredths: int | None, unit: int) -> int | None:
    """`hundredths` as a CRM keeping multiples of `unit` stores it (half up)."""
    if hundredths is None or unit <= 1:
        return hundredths
    return (hundredths + unit // 2) // unit * unit
