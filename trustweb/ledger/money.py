"""Money is an integer number of minor units (cents); Decimal only at the edges.

Parsing accepts what a person types ("1,234.50", "1234.5", "$12") and refuses
anything ambiguous ("1.234", "1e3"), negative, or larger than MAX_CENTS.
"""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, list_currencies

# A trust request or deposit over a billion is a typo, not a retainer.
MAX_CENTS = 100_000_000_000

_AMOUNT = re.compile(
    r"""^\s*[$€£]?\s*
    (?P<units>\d{1,3}(?:,\d{3})+|\d+)?
    (?:\.(?P<cents>\d{0,2}))?
    \s*$""",
    re.VERBOSE | re.ASCII,
)


class MoneyError(ValueError):
    """An amount that cannot be accepted, with a message fit to show the user."""


def parse_cents(text: str | None, *, allow_zero: bool = False) -> int:
    """Parse a typed amount into integer cents, or raise MoneyError."""
    if text is None or not str(text).strip():
        raise MoneyError("Enter an amount.")
    text = str(text)
    if text.strip().startswith("-"):
        raise MoneyError("The amount cannot be negative.")
    match = _AMOUNT.match(text)
    if not match or (match["units"] is None and not match["cents"]):
        raise MoneyError("Enter an amount like 1,234.50.")
    units = int((match["units"] or "0").replace(",", ""))
    cents = int((match["cents"] or "0").ljust(2, "0"))
    total = units * 100 + cents
    if total > MAX_CENTS:
        # Parsing knows no account or firm: the limit guards against a slip of the finger, and is written in
        # dollars as it always was (a form that knows its currency could say it in that one).
        raise MoneyError(f"The amount cannot be more than {format_cents(MAX_CENTS, 'USD')}.")
    if total == 0 and not allow_zero:
        raise MoneyError("The amount must be more than zero.")
    return total


def cents_to_decimal(cents: int) -> Decimal:
    """Exact decimal value of an integer number of cents."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money must be an integer number of cents")
    return Decimal(cents).scaleb(-2)


def format_cents(cents: int, currency: str, locale: str = "en_US") -> str:
    """Format cents for display in a currency: the account's the money is in, or the firm's (as Babel does, without
    its per-call cost)."""
    prefix, group, decimal, suffix = _currency_layout(currency, locale)
    units, rest = divmod(abs(cents_to_decimal(cents) * 100).to_integral_value(), 100)
    grouped = f"{int(units):,}".replace(",", group)
    return f"{'-' if cents < 0 else ''}{prefix}{grouped}{decimal}{int(rest):02d}{suffix}"


@lru_cache(maxsize=64)
def _currency_layout(currency: str, locale: str) -> tuple[str, str, str, str]:
    """What Babel puts around and between the digits of an amount in this currency and locale."""
    sample = format_currency(Decimal("1234567.89"), currency, locale=locale)
    match = re.fullmatch(r"(\D*)1(?P<group>\D?)234(?P=group)567(\D)89(\D*)", sample)
    if match is None:
        raise ValueError(f"cannot lay out amounts like {sample!r}")
    return match.group(1), match.group("group"), match.group(3), match.group(4)


def per_currency(amounts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """(currency, cents) pairs summed within each currency, never across two: {"CAD": 25000, "USD": 100000}."""
    totals: dict[str, int] = {}
    for currency, cents in amounts:
        totals[currency] = totals.get(currency, 0) + cents
    return totals


def format_totals(totals: Mapping[str, int], locale: str = "en_US", *, first: str = "USD") -> str:
    """Amounts of several currencies, each written in its own and never added: "$1,000.00 and CA$250.00", the
    `first` currency (the firm's) first and the others by their codes; zero in it when there is none."""
    order = sorted(totals, key=lambda currency: (currency != first, currency))
    shown = [format_cents(totals[currency], currency, locale) for currency in order]
    if not shown:
        return format_cents(0, first, locale)
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def plain_cents(cents: int) -> str:
    """Cents as a plain decimal string ("1234.50", "-0.05") for forms and CSV."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money must be an integer number of cents")
    return plain_cents_of_int(cents)


# ".00" to ".99": the cents of an amount looked up, not formatted (a CSV of a million amounts makes a million).
_CENT_DIGITS = tuple(f".{n:02d}" for n in range(100))


def plain_cents_of_int(cents: int) -> str:
    """plain_cents without the type check, for amounts a BIGINT column gave: integer arithmetic and a lookup."""
    if cents >= 0:
        return str(cents // 100) + _CENT_DIGITS[cents % 100]
    return "-" + str(-cents // 100) + _CENT_DIGITS[-cents % 100]


def is_currency_code(text: str) -> bool:
    """An ISO 4217 code ("USD", "EUR"), as a bank's file may name the currency of its amounts."""
    return text in _currency_codes()


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    return frozenset(list_currencies())
