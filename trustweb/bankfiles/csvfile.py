"""A bank's CSV export: its layout found from the data (csvlayout), its columns named on screen (the mapping,
remembered per account), its dates and amounts read exactly (csvvalues), row by row.

read() gives everything the preview shows (the lines with their row numbers, the rows skipped and why, what was
found about the file); parse() gives the statement alone. Either reads the whole file or raises
StatementFileError naming the row, the value and what was expected; nothing is kept.
"""

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from trustweb.bankfiles import ParsedLine, ParsedStatement, StatementFileError, check_line_count
from trustweb.bankfiles.csvaccount import stated_account
from trustweb.bankfiles.csvlayout import Layout, sniff
from trustweb.bankfiles.csvvalues import (
    DATE_FORMATS,
    any_date,
    date_formats_reading,
    decimal_mark,
    infer_date_format,
    looks_like_amount,
    read_amount,
)
from trustweb.ledger.money import MoneyError
from trustweb.text import printable

COLUMNS = ("date", "amount", "debit", "credit", "description", "reference", "direction")
MAPPING = (*COLUMNS, "date_format", "sign")
SIGNS = {"": "+ is money in, − money out", "out": "+ is money out (as a card statement writes it)"}
GUESSES = {
    "date": ("date", "posted", "posting date", "transaction date", "booking date", "date posted", "trans. date"),
    "amount": ("amount", "transaction amount", "amount (usd)", "value", "net amount"),
    "debit": ("debit", "debits", "withdrawal", "withdrawals", "money out", "paid out", "debit amount", "out"),
    "credit": ("credit", "credits", "deposit", "deposits", "money in", "paid in", "credit amount", "in"),
    "description": ("description", "memo", "payee", "details", "narrative", "name", "transaction", "particulars"),
    "reference": ("check", "check number", "cheque", "cheque number", "reference", "ref", "check or slip #", "num"),
    "direction": ("cr/dr", "dr/cr", "credit/debit", "debit/credit", "transaction type", "d/c", "c/d"),
}
# A second chance when no name above matches: a word the column's name contains.
NAME_PARTS = {
    "date": ("date", "datum", "fecha"),
    "amount": ("amount", "betrag", "montant", "importe"),
    "description": ("desc", "memo", "narr", "payee", "detail", "text", "libell"),
    "reference": ("check", "cheque", "ref"),
    "debit": ("withdraw", "debit"),
    "credit": ("deposit", "credit"),
}
CREDIT_WORDS = {"cr", "c", "credit", "crdt", "deposit", "in", "+"}
DEBIT_WORDS = {"dr", "d", "debit", "dbit", "withdrawal", "out", "-", "check", "cheque"}
SUMMARY = re.compile(r"total|balance|closing|opening|summary|saldo|sum\b|count|end of", re.IGNORECASE)
PREVIEW_ROWS = 10
MONEY_LIKE = re.compile(r"[.,]\d{2}\b|^[-+(]|[-)]$")


@dataclass
class Reading:
    """A CSV read through: its statement, each line's row number, the rows skipped (row, why), notes, and the
    mapping with the date format it was read in (as it is remembered)."""

    statement: ParsedStatement
    numbers: list[int]
    skipped: list[tuple[int, str]]
    notes: list[str]
    mapping: dict[str, str]
    layout: Layout
    preview: list[tuple[int, ParsedLine, int]] = field(default_factory=list)


def header(data: bytes) -> list[str]:
    """The CSV's column names (its header's, or "Column 1"... for a file without one), for choosing what each holds."""
    return sniff(data).names


def check_mapping(mapping: Mapping[str, str | None], names: list[str]) -> dict[str, str]:
    """The mapping as stored: column names the file has, a known date format or none (found from the file), an amount
    or debit/credit columns."""
    clean = {key: (mapping.get(key) or "").strip() for key in MAPPING}
    if clean["date_format"] and clean["date_format"] not in DATE_FORMATS:
        raise StatementFileError("Choose how the dates are written.")
    if clean["sign"] not in SIGNS:
        raise StatementFileError("Choose whether a positive amount is money in or out.")
    if not clean["date"]:
        raise StatementFileError("Choose the column with the date.")
    if not clean["amount"] and not (clean["debit"] or clean["credit"]):
        raise StatementFileError("Choose the column with the amount, or the debit and credit columns.")
    for key in COLUMNS:
        if clean[key] and clean[key] not in names:
            raise StatementFileError(f"The file has no column “{clean[key]}”.")
    return clean


def guess_mapping(layout: Layout, saved: Mapping[str, str]) -> dict[str, str]:
    """The saved mapping where its columns are in this file; else a guess from the names; else from the cells."""
    mapping = {}
    lowered = {name.lower().strip(): name for name in layout.names}
    for key, names in GUESSES.items():
        if saved.get(key) in layout.names:
            mapping[key] = str(saved[key])
        else:
            mapping[key] = next((lowered[n] for n in names if n in lowered), "")
    for key, parts in NAME_PARTS.items():
        taken = set(mapping.values())
        if not mapping[key]:
            found = (name for lower, name in lowered.items() if name not in taken and any(p in lower for p in parts))
            mapping[key] = next(found, "")
    if mapping["amount"] and (mapping["debit"] or mapping["credit"]):
        mapping["debit"] = mapping["credit"] = ""
    cells = _cells_by_column(layout)
    if not mapping["date"]:
        mapping["date"] = next((name for name in layout.names if _mostly(cells[name], any_date)), "")
    if not (mapping["amount"] or mapping["debit"] or mapping["credit"]):
        amounts = [name for name in layout.names if name != mapping["date"] and _mostly(cells[name], looks_like_amount)]
        # Of the columns of numbers, the one written as money (cents, a sign) rather than an account or cheque number.
        mapping["amount"] = max(amounts, key=lambda name: _mostly(cells[name], MONEY_LIKE.search), default="")
    if not mapping["direction"] and mapping["amount"] and not _any_negative(cells[mapping["amount"]]):
        words = CREDIT_WORDS | DEBIT_WORDS
        mapping["direction"] = next(
            (
                name
                for name in layout.names
                if name not in mapping.values() and _mostly(cells[name], lambda c: c.lower().strip(" .") in words)
            ),
            "",
        )
    if not mapping["description"]:
        texts = [name for name in layout.names if name not in mapping.values()]
        mapping["description"] = max(texts, key=lambda name: sum(len(cell) for cell in cells[name]), default="")
    saved_format = str(saved.get("date_format") or "")
    dates = [cell for cell in cells.get(mapping["date"], []) if cell]
    mapping["date_format"] = saved_format if saved_format in date_formats_reading(dates) and dates else ""
    mapping["sign"] = str(saved.get("sign") or "") if saved.get("sign") in SIGNS else ""
    return mapping


def _cells_by_column(layout: Layout, limit: int = 200) -> dict[str, list[str]]:
    rows = layout.rows[:limit]
    return {
        name: [cells[at].strip() if at < len(cells) else "" for _, cells in rows]
        for at, name in enumerate(layout.names)
    }


def _any_negative(cells: list[str]) -> bool:
    """Whether a column of amounts carries its own signs (then no CR/DR column is needed)."""
    for text in cells:
        try:
            if (read_amount(text, decimal_mark([text])) or 0) < 0:
                return True
        except MoneyError:
            continue
    return False


def _mostly(cells: list[str], test: Callable[[str], object]) -> bool:
    """Most of a column's filled cells pass the test (a total line at the end may not)."""
    filled = [cell for cell in cells if cell]
    return bool(filled) and sum(1 for cell in filled if test(cell)) * 10 >= len(filled) * 9


def parse(data: bytes, mapping: Mapping[str, str | None]) -> ParsedStatement:
    """Every transaction of the CSV as a line, or StatementFileError naming the first bad row (nothing is kept)."""
    return read(data, mapping).statement


def read(data: bytes, mapping: Mapping[str, str | None]) -> Reading:
    """The whole file read with the mapping: its lines, the rows skipped and why, and what was found on the way."""
    layout = sniff(data)
    if layout.unreadable:
        raise StatementFileError(layout.unreadable)
    columns = check_mapping(mapping, layout.names)
    index = {name: at for at, name in enumerate(layout.names)}

    def cell(cells: list[str], key: str) -> str:
        column = columns[key]
        return cells[index[column]].strip() if column and index[column] < len(cells) else ""

    if not layout.rows:
        raise StatementFileError("The file has no statement lines.")
    skipped: list[tuple[int, str]] = []
    dated = []
    half = (layout.width + 1) // 2
    last = max((at for at, (_, cells) in enumerate(layout.rows) if any_date(cell(cells, "date"))), default=-1)
    for at, (number, cells) in enumerate(layout.rows):
        day, worded = cell(cells, "date"), bool(SUMMARY.search(" ".join(cells)))
        if day and any_date(day) is not None:
            dated.append((number, cells, day))
        elif sum(1 for c in cells if c.strip()) == 1 and not any(cell(cells, k) for k in ("amount", "debit", "credit")):
            skipped.append((number, "a note, not a transaction"))
        elif at > last and (not day or worded or sum(1 for c in cells if c.strip()) < half):
            skipped.append((number, "after the last transaction: a total or balance line"))
        elif worded:
            skipped.append((number, "a balance or total, not a transaction"))
        elif day:
            dated.append((number, cells, day))  # named as no date below
        elif not any(cell(cells, key) for key in ("amount", "debit", "credit")):
            skipped.append((number, "no date and no amount (a note)"))
        else:
            raise StatementFileError(f"Row {number}: the date is missing in “{columns['date']}”. Nothing was imported.")
    date_format = columns["date_format"] or _inferred(dated, columns["date"])
    fmt = DATE_FORMATS[date_format]
    mark = decimal_mark(cell(cells, key) for _, cells, _ in dated for key in ("amount", "debit", "credit"))
    lines: list[ParsedLine] = []
    numbers: list[int] = []
    for number, cells, day in dated:
        posted_on = fmt.read(day)
        if posted_on is None:
            raise StatementFileError(
                f"Row {number}: “{day[:30]}” in “{columns['date']}” is not a date written like {fmt.sample}. "
                "Nothing was imported."
            )
        amount = _amount(number, columns, functools.partial(cell, cells), mark)
        if not amount:
            skipped.append((number, "no amount (a note or a zero movement)"))
            continue
        reference = printable(cell(cells, "reference"), 100) or None
        lines.append(
            ParsedLine(
                posted_on=posted_on,
                amount_cents=amount,
                description=printable(cell(cells, "description"), 300),
                cheque_number=reference if reference and reference.isdigit() and len(reference) <= 20 else None,
            )
        )
        numbers.append(number)
        check_line_count(lines)  # as it grows: a file of millions stops at the limit
    if not lines:
        raise StatementFileError("The file has no statement lines.")
    account_number, currency, stated = stated_account(layout)
    notes = [*layout.notes, *stated]
    if not columns["date_format"]:
        notes.append(f"Dates read as {fmt.sample} ({_order_words(fmt.order)}), the one way every row reads.")
    if mark == ",":
        notes.append("Amounts written with a decimal comma (1.234,56).")
    remembered = {**columns, "date_format": date_format}
    statement = ParsedStatement(lines, account_number=account_number, currency=currency)
    reading = Reading(statement, numbers, sorted(skipped), notes, remembered, layout)
    total = 0
    for at, (number, line) in enumerate(zip(numbers, lines, strict=True)):
        if at >= PREVIEW_ROWS:
            break
        total += line.amount_cents
        reading.preview.append((number, line, total))
    return reading


def _inferred(dated: list[tuple[int, list[str], str]], column: str) -> str:
    if not dated:
        raise StatementFileError(f"No row has a date in “{column}”; choose the column with the date.")
    return infer_date_format([(number, day) for number, _, day in dated], column)


def _amount(number: int, columns: dict[str, str], cell: Callable[[str], str], mark: str) -> int:
    """The row's signed cents (+ in, − out) from an amount column (its sign, or the CR/DR column's) or from debit and
    credit columns."""
    key = "amount"
    try:
        if columns["amount"]:
            amount = read_amount(cell("amount"), mark) or 0
            if columns["sign"] == "out":
                amount = -amount
            if columns["direction"]:
                word = cell("direction").lower().strip(" .")
                if word in CREDIT_WORDS:
                    amount = abs(amount)
                elif word in DEBIT_WORDS:
                    amount = -abs(amount)
                else:
                    raise StatementFileError(
                        f"Row {number}: “{cell('direction')[:20]}” in “{columns['direction']}” says neither credit "
                        "(CR, money in) nor debit (DR, money out). Nothing was imported."
                    )
            return amount
        key = "credit"
        credit = read_amount(cell("credit"), mark) or 0
        key = "debit"
        debit = read_amount(cell("debit"), mark) or 0
        return credit - abs(debit)
    except MoneyError as error:
        raise StatementFileError(
            f"Row {number}: the amount cannot be read: “{cell(key)[:30]}” in “{columns[key]}”: {error}. "
            "Nothing was imported."
        ) from None


def _order_words(order: str) -> str:
    return {"dmy": "day first", "mdy": "month first", "ymd": "year first"}[order]


def date_choices() -> dict[str, str]:
    """{format: how a day looks in it}, for the mapping's list."""
    return {key: fmt.sample for key, fmt in DATE_FORMATS.items()}
