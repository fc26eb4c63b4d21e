"""The bank's statement files (CSV in csvfile, OFX in ofxfile) read into plain data: pure, no Flask, no database.

A file is read whole or refused: the first thing wrong with it raises
StatementFileError with a message for the person who chose the file, and
nothing of it is kept. Amounts are signed cents on the bank's side (+ in,
- out); what the lines are matched to is services/statements.py's business.
"""

from dataclasses import dataclass, field
from datetime import date

from trustweb.ledger.money import parse_cents

MAX_BYTES = 10 * 2**20
MAX_LINES = 100_000


class StatementFileError(ValueError):
    """A statement file that cannot be imported; the message says why, for the person who chose it."""


@dataclass
class ParsedLine:
    """One movement on the bank's side, as the file gives it."""

    posted_on: date
    amount_cents: int
    description: str = ""
    cheque_number: str | None = None
    bank_reference: str | None = None


@dataclass
class ParsedStatement:
    """A file's lines, with the period and ending balance when the file carries them (OFX does, CSV does not),
    and the account's number, currency and kind ("bank", "credit card", "investment") where the file says them."""

    lines: list[ParsedLine] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None
    ending_balance_cents: int | None = None
    account_number: str | None = None
    currency: str | None = None
    kind: str = "bank"


def signed_cents(text: str | None) -> int | None:
    """A bank's amount: "1,234.56", "-1234.56", "(1,234.56)", "$1,234.56" into signed cents; "" is None."""
    text = (text or "").strip()
    if not text:
        return None
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("-").strip()
    return -parse_cents(text, allow_zero=True) if negative else parse_cents(text, allow_zero=True)


def check_size(data: bytes) -> None:
    """Something to read, and not more than an import handles at once."""
    if not data:
        raise StatementFileError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise StatementFileError(f"The file is larger than {MAX_BYTES // 2**20} MB; import one month at a time.")


def check_line_count(lines: list[ParsedLine]) -> None:
    if len(lines) > MAX_LINES:
        raise StatementFileError(f"The file has more than {MAX_LINES:,} lines; import one month at a time.")
