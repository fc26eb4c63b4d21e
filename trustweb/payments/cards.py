"""Reading what a payer typed into the card form: number (Luhn), expiry and CVC."""

import re
import unicodedata
from datetime import date


class CardError(ValueError):
    """Something typed on the card form is not a usable card; the message says what."""


def typed(text: str | None) -> str:
    """What was typed, in ASCII where a keyboard has its own: a phone's number pad in an Arabic locale gives Arabic-
    Indic digits (١٢/٣٠), a Japanese or Chinese one full-width (１２／３０). Decimal digits of any script become
    0-9, spaces of any kind a space, dashes "-", full-width punctuation its ASCII form; invisible format marks (the
    direction marks a right-to-left keyboard adds) are dropped. Anything else stays as it was, to be refused:
    superscripts and other digit-like signs are not digits."""
    folded = []
    for ch in text or "":
        category = unicodedata.category(ch)
        if category == "Nd":
            folded.append(str(unicodedata.decimal(ch)))
        elif ch.isspace():
            folded.append(" ")
        elif category == "Pd":
            folded.append("-")
        elif category.startswith("P"):
            folded.append(unicodedata.normalize("NFKC", ch))
        elif category != "Cf":
            folded.append(ch)
    return "".join(folded)


def card_number(text: str | None) -> str:
    """Digits of a card number; spaces and dashes as people type them are fine."""
    digits = re.sub(r"[\s-]", "", typed(text))
    if not digits:
        raise CardError("Enter the card number.")
    if not (digits.isascii() and digits.isdigit()) or not 12 <= len(digits) <= 19:
        raise CardError("Enter the card number as it appears on the card (12 to 19 digits).")
    if not luhn_ok(digits):
        raise CardError("That card number is not valid; check it for a typo.")
    return digits


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# MM/YY as printed on a card, and what a phone's number pad lets a payer type: the pad has no "/", so the four or
# six digits alone (1230, 122030) are read as MMYY and MMYYYY. A separator may be "/", "-", "." or spaces.
EXPIRY_TYPED = re.compile(
    r"(?P<month>\d{1,2})\s*[/.\-\s]\s*(?P<year>\d{2}|\d{4})|(?P<mm>\d{2})(?P<yy>\d{2}|\d{4})", re.ASCII
)


def expiry(text: str | None, today: date) -> tuple[int, int]:
    """(month, year) from MM/YY, MM/YYYY, MMYY or MMYYYY; refused when the card has expired."""
    match = EXPIRY_TYPED.fullmatch(typed(text).strip())
    if not match:
        raise CardError("Enter the expiry date as MM/YY.")
    month, year = (int(match["month"]), int(match["year"])) if match["month"] else (int(match["mm"]), int(match["yy"]))
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise CardError("The expiry month must be 01 to 12.")
    if (year, month) < (today.year, today.month):
        raise CardError("This card has expired.")
    if year > today.year + 20:
        raise CardError("Check the expiry year.")
    return month, year


def cvc(text: str | None) -> str:
    """The 3 or 4 digit security code."""
    text = typed(text).strip()
    if not re.fullmatch(r"\d{3,4}", text, re.ASCII):
        raise CardError("Enter the 3 or 4 digit security code (CVC).")
    return text
