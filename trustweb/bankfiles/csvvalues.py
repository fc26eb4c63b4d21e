"""A bank's dates and amounts as CSV exports write them, read exactly: dates in any of the usual orders (the order
found from every row of the file), amounts in cents through Decimal-free integer arithmetic, never a float.

A date format is named by its strftime pattern ("%d/%m/%Y"), which is what a bank's remembered mapping stores.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from trustweb.bankfiles import StatementFileError
from trustweb.ledger.money import MAX_CENTS, MoneyError, format_cents

SAMPLE_DAY = date(2026, 11, 30)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTHS_FULL = tuple(date(2026, n, 1).strftime("%B").lower() for n in range(1, 13))
_TIME = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm])?\s*(?:Z|[+-]\d{2}:?\d{2})?)$")
_PIECES = {
    "%Y": r"(?P<y>\d{4})",
    "%y": r"(?P<y>\d{2})",
    "%m": r"(?P<m>\d{1,2})",
    "%d": r"(?P<d>\d{1,2})",
    "%b": r"(?P<b>[A-Za-z]{3,9})\.?",
    " ": r"\s+",
    ",": r",?",
}


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a day; order says which of day and month comes first ("dmy", "mdy", "ymd")."""

    key: str
    order: str
    pattern: re.Pattern[str]

    @property
    def sample(self) -> str:
        return SAMPLE_DAY.strftime(self.key)

    def read(self, text: str) -> date | None:
        """The day, or None when the text is not written this way (or is no real day)."""
        match = self.pattern.fullmatch(_TIME.sub("", text.strip()))
        if match is None:
            return None
        parts = match.groupdict()
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year += 2000 if year < 69 else 1900  # as strptime's %y
        if parts.get("b"):
            name = parts["b"].lower()
            if name[:3] not in MONTHS or not (len(name) <= 4 or MONTHS_FULL[MONTHS.index(name[:3])].startswith(name)):
                return None
            month = MONTHS.index(name[:3]) + 1
        else:
            month = int(parts["m"])
        try:
            return date(year, month, int(parts["d"]))
        except ValueError:
            return None


def _format(key: str, order: str) -> DateFormat:
    if key == "%Y%m%d":
        # OFX's own way, time and zone too, as some banks put it in a CSV: 20091224120000[0:GMT]
        return DateFormat(
            key, order, re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\d{6}(?:\.\d+)?(?:\[[^\]]*\])?)?")
        )
    pattern = "".join(_PIECES.get(piece, re.escape(piece)) for piece in re.findall(r"%[a-zA-Z]|.", key))
    return DateFormat(key, order, re.compile(pattern, re.ASCII))


# The order matters only between formats that cannot both read one file (all but the day-first/month-first pairs).
DATE_FORMATS = {
    fmt.key: fmt
    for fmt in (
        _format("%Y-%m-%d", "ymd"),
        _format("%Y/%m/%d", "ymd"),
        _format("%Y.%m.%d", "ymd"),
        _format("%Y%m%d", "ymd"),
        _format("%m/%d/%Y", "mdy"),
        _format("%d/%m/%Y", "dmy"),
        _format("%d.%m.%Y", "dmy"),
        _format("%d-%m-%Y", "dmy"),
        _format("%m-%d-%Y", "mdy"),
        _format("%m/%d/%y", "mdy"),
        _format("%d/%m/%y", "dmy"),
        _format("%d.%m.%y", "dmy"),
        _format("%d-%m-%y", "dmy"),
        _format("%d-%b-%Y", "dmy"),
        _format("%d %b %Y", "dmy"),
        _format("%d-%b-%y", "dmy"),
        _format("%d %b %y", "dmy"),
        _format("%b %d, %Y", "mdy"),
        _format("%d/%b/%Y", "dmy"),
    )
}


class AmbiguousDates(StatementFileError):
    """Every day in the file is 12 or less: it reads day-first and month-first alike, and the person must say."""

    def __init__(self, message: str, choices: list[str]):
        super().__init__(message)
        self.choices = choices


def any_date(text: str) -> date | None:
    """The day in text written any known way (for telling a data row from a header), or None."""
    for fmt in DATE_FORMATS.values():
        day = fmt.read(text)
        if day is not None:
            return day
    return None


def date_formats_reading(cells: list[str]) -> list[str]:
    """The formats that read every one of the cells."""
    return [key for key, fmt in DATE_FORMATS.items() if all(fmt.read(cell) is not None for cell in cells)]


def infer_date_format(cells: list[tuple[int, str]], column: str) -> str:
    """The one format that reads every row's date; StatementFileError naming the first row none reads, or
    AmbiguousDates when both day-first and month-first read them all."""
    fits = date_formats_reading([cell for _, cell in cells])
    orders = {DATE_FORMATS[key].order for key in fits}
    if {"dmy", "mdy"} <= orders:
        raise AmbiguousDates(
            f"The dates in “{column}” read both day first and month first (no day is past the 12th): "
            "choose how this bank writes them.",
            fits,
        )
    if fits:
        return fits[0]
    best = max(DATE_FORMATS.values(), key=lambda fmt: sum(fmt.read(cell) is not None for _, cell in cells))
    number, cell = next((number, cell) for number, cell in cells if best.read(cell) is None)
    if not any(best.read(text) for _, text in cells):
        raise StatementFileError(
            f"Row {number}: “{cell[:30]}” in “{column}” is not a date; choose the column with the date."
        )
    raise StatementFileError(
        f"Row {number}: “{cell[:30]}” in “{column}” is not a date written like the other rows ({best.sample})."
    )


# --- amounts -------------------------------------------------------------------------------------------------------

_CURRENCY = re.compile(r"[A-Za-z]{1,2}\$|\$|€|£|¥|₹|\b[A-Za-z]{3}\b")
_DRCR = re.compile(r"^(?:(?P<pre>CR|DR)\.?\s*)?(?P<rest>.*?)(?:\s*(?P<post>CR|DR)\.?)?$", re.IGNORECASE | re.DOTALL)
_GROUPING = str.maketrans("", "", " \u00a0\u202f'’")


def _bare(text: str) -> tuple[str, list[bool]]:
    """The digits and separators of an amount, and the signs found around them (True: negative)."""
    text = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    signs = []
    match = _DRCR.match(text)
    if match and (match["pre"] or match["post"]):
        signs.append((match["pre"] or match["post"]).upper() == "DR")
        text = match["rest"]
    if text.startswith("(") and text.endswith(")"):
        signs.append(True)
        text = text[1:-1]
    text = _CURRENCY.sub("", text).strip()
    if text[:1] in "+-" and text:
        signs.append(text[0] == "-")
        text = text[1:]
    if text[-1:] in ("+", "-") and text:
        signs.append(text[-1] == "-")
        text = text[:-1]
    text = _CURRENCY.sub("", text).translate(_GROUPING)
    if text[:1] in "+-" and text:  # "$-12.00", "-$12.00"
        signs.append(text[0] == "-")
        text = text[1:]
    return text, signs


def decimal_mark(cells: Iterable[str]) -> str:
    """ "," when the file's amounts are written 1.234,56, else "." (the evidence of every row, majority wins)."""
    votes = {".": 0, ",": 0}
    for cell in cells:
        number, _ = _bare(cell)
        last = max(number.rfind("."), number.rfind(","))
        if last < 0:
            continue
        mark, other = number[last], "," if number[last] == "." else "."
        if other in number:
            votes[mark] += 1
        elif number.count(mark) > 1:
            votes[other] += 1
        elif len(number) - last - 1 != 3:
            votes[mark] += 1
    return "," if votes[","] > votes["."] else "."


def read_amount(text: str | None, mark: str = ".") -> int | None:
    """A bank's amount as signed cents ("" is None): currency signs and codes, thousands separators, the decimal mark
    given, parentheses, a leading or trailing sign, CR/DR. MoneyError says what is wrong in words."""
    text = (text or "").strip()
    if text in ("", "-", "—", "–"):
        return None
    number, signs = _bare(text)
    if len(signs) > 1:
        raise MoneyError("it has more than one sign")
    group = "," if mark == "." else "."
    whole, _, fraction = number.partition(mark)
    if not re.fullmatch(r"\d+", whole.replace(group, "")) or not re.fullmatch(r"\d*", fraction):
        raise MoneyError(f"it is not an amount like {_like(mark)}")
    # Thousands in threes (or lakhs in twos, 1,23,456.00), the last group always three.
    if group in whole and not re.fullmatch(
        rf"\d{{1,3}}(?:{re.escape(group)}\d{{2,3}})*{re.escape(group)}\d{{3}}", whole
    ):
        raise MoneyError(f"its digits are grouped oddly for an amount like {_like(mark)}")
    if fraction.rstrip("0")[2:]:
        raise MoneyError("it has fractions of a cent")
    cents = int(whole.replace(group, "")) * 100 + int((fraction[:2] or "0").ljust(2, "0"))
    if cents > MAX_CENTS:
        raise MoneyError(f"it is more than {format_cents(MAX_CENTS, 'USD')}")
    return -cents if signs and signs[0] else cents


def _like(mark: str) -> str:
    return "1,234.56 or -1,234.56" if mark == "." else "1.234,56 or -1.234,56"


def looks_like_amount(text: str) -> bool:
    """Whether text reads as an amount with either decimal mark (for telling a data row from a header)."""
    if not re.search(r"\d", text or ""):
        return False
    for mark in (".", ","):
        try:
            read_amount(text, mark)
            return True
        except MoneyError:
            continue
    return False
