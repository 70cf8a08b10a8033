"""A sale's amount as a manager types it in Telegram ("150000", "150 000", "150 000,50",
"1,5 млн", "150k", "150 000 ₽"), read exactly (Decimal, never a float), and written back
the way the managers' language writes money. Pure and table-tested
(tests/dialogs/test_amounts.py).

This reads what a person types in a chat; a file's amounts (the spend import's CSV columns)
are another reading, with their own rules. The rules follow `validators.parse_number` (the
prospect's numbers) with one difference that money allows: an amount has at most two
decimals, so a lone separator before exactly three digits is a thousands separator in every
language ("2,500" and "2.500" are two and a half thousand), never ambiguous.

- Spaces of any kind and apostrophes group thousands ("150 000", "1'500'000").
- Both "," and "." in it: the one that comes last is the decimal one ("1,500.50",
  "1.500,50").
- One of them, several times: thousands only ("1,000,000", "1.000.000").
- One of them, once: before exactly three digits, thousands; before one or two digits, the
  decimal one — except "," in English, which is only ever thousands ("150,5" is not an
  amount in English; it is 150.5 in Russian and Ukrainian).
- A multiplier after the number: k / к / тыс / тис (thousand), m / mln / млн (million);
  then a lone separator is the decimal one ("1,5к", "1.25m"), "," again not in English.
- The installation's currency may be named before or after it ("₽", "руб.", "RUB", "$"),
  no other: "2000 USD" in a RUB installation is not an amount (it would be recorded as
  roubles).
- Zero, negative, more than two decimals (after the multiplier), or a trillion and more:
  not an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 12  # whole units: a typo's zeros, not a sale
MAX_TEXT = 64
COMMA_DECIMAL = ("ru", "uk")  # languages whose decimal separator is the comma
MULTIPLIERS = {"k": 1000, "к": 1000, "тыс": 1000, "тис": 1000,
               "m": 10**6, "mln": 10**6, "млн": 10**6}
# what people write for a currency, besides its ISO code (any code names itself)
CURRENCY_WORDS = {
    "RUB": ("₽", "р", "руб", "рубль", "рубля", "рублей", "rub", "rur"),
    "UAH": ("₴", "грн", "гривня", "гривні", "гривень", "гривен", "uah"),
    "USD": ("$", "us$", "usd", "долл", "доллар", "долларов", "дол", "долар", "доларів"),
    "EUR": ("€", "eur", "евро", "євро", "euro", "euros"),
    "GBP": ("£", "gbp"),
    "KZT": ("₸", "тг", "тенге", "kzt"),
    "BYN": ("byn", "бел. руб", "br"),
}
_SHAPE = re.compile(
    r"^(?P<before>[^\d+\-.,]*?)\s*\+?(?P<number>\d[\d\s'’.,]*?)\s*"
    r"(?:(?P<multiplier>mln|млн|тыс|тис|k|к|m)(?![^\W\d_]))?\.?\s*(?P<after>[^\d]*)$")
_SPACES = re.compile(r"[\s'’]+")


def parse_amount(text: str, language: str, currency: str | None = None) -> Decimal | None:
    """The amount in `text` (quantized to hundredths), or None when it is not one (the bot
    then asks again). `language`: the managers' (ru / uk / en), for the comma; `currency`:
    the installation's, the only one the text may name."""
    raw = " ".join(text.strip().lower().split())
    if not raw or len(raw) > MAX_TEXT:
        return None
    shape = _SHAPE.match(raw)
    if shape is None or not _names(shape["before"], currency) or not _names(
            shape["after"], currency):
        return None
    multiplier = shape["multiplier"]
    value = _number(shape["number"], language, multiplied=multiplier is not None)
    if value is None:
        return None
    value *= MULTIPLIERS.get(multiplier or "", 1)
    if not 0 < value < LIMIT or value != value.quantize(CENT):
        return None
    return value.quantize(CENT)


def _names(word: str, currency: str | None) -> bool:
    """Empty, or the installation's currency by its code, symbol or word."""
    word = word.strip().rstrip(".").strip()
    if not word:
        return True
    if currency is None:
        return False
    return word in (currency.lower(), *CURRENCY_WORDS.get(currency.upper(), ()))


def _number(core: str, language: str, multiplied: bool) -> Decimal | None:
    core = _SPACES.sub(" ", core.strip())
    comma_decimal = language in COMMA_DECIMAL
    decimal_mark: str | None = None
    if "," in core and "." in core:
        decimal_mark = "," if core.rfind(",") > core.rfind(".") else "."
        if core.count(decimal_mark) > 1 or (decimal_mark == "," and not comma_decimal):
            return None
    elif "," in core or "." in core:
        mark = "," if "," in core else "."
        digits_after = len(core.rpartition(mark)[2].replace(" ", ""))
        lone = core.count(mark) == 1
        may_be_decimal = mark == "." or comma_decimal
        if lone and may_be_decimal and (multiplied or digits_after != 3):
            decimal_mark = mark
    whole, _, fraction = core.rpartition(decimal_mark) if decimal_mark else (core, "", "")
    groups = re.split(r"[ ,.]", whole.strip())
    if not _grouped(groups) or not re.fullmatch(r"[0-9]*", fraction.strip()):
        return None
    if decimal_mark and not fraction.strip():
        return None
    try:
        return Decimal("".join(groups) + "." + (fraction.strip() or "0"))
    except InvalidOperation:  # pragma: no cover - digits only by now
        return None


def _grouped(groups: list[str]) -> bool:
    """One run of digits, or a leading group of 1-3 digits and groups of exactly three."""
    if not all(g.isdigit() and g.isascii() for g in groups):
        return False
    return len(groups) == 1 or (len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]))


def to_minor(amount: Decimal) -> int:
    """Hundredths of the currency, as `leads.amount` keeps it."""
    return int((amount * 100).to_integral_value())


def format_amount(minor: int, language: str) -> str:
    """Hundredths -> "150 000" / "150 000,50" (ru, uk: no-break space, decimal comma) or
    "150,000" / "150,000.50" (en), as validators.format_number writes numbers; the
    hundredths only when there are any."""
    whole, cents = divmod(abs(minor), 100)
    text = f"{whole:,}" + (f".{cents:02d}" if cents else "")
    if language in COMMA_DECIMAL:
        text = text.replace(",", "\u00a0").replace(".", ",")
    return ("-" if minor < 0 else "") + text
