"""A bank's CSV export: its columns named on screen (the mapping, remembered per account), read row by row."""

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime

from trustweb.bankfiles import (
    ParsedLine,
    ParsedStatement,
    StatementFileError,
    check_line_count,
    check_size,
    signed_cents,
)
from trustweb.ledger.money import MoneyError
from trustweb.text import printable

DATE_FORMATS = {"%Y-%m-%d": "2026-11-30", "%m/%d/%Y": "11/30/2026", "%d/%m/%Y": "30/11/2026", "%d.%m.%Y": "30.11.2026"}


def _decode(data: bytes) -> str:
    check_size(data)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementFileError("The file is not text; export the statement as CSV or OFX.")


def header(data: bytes) -> list[str]:
    """The CSV's column names, for choosing what each one holds."""
    rows = csv.reader(io.StringIO(_decode(data)))
    try:
        names = next(rows, None)
    except csv.Error as error:
        raise StatementFileError(f"The file is not a CSV the app can read ({error}).") from None
    if not names or not any(cell.strip() for cell in names):
        raise StatementFileError("The file has no header row naming its columns.")
    return [printable(cell, 200) for cell in names]


def check_mapping(mapping: Mapping[str, str | None], names: list[str]) -> dict[str, str]:
    """The mapping as stored: column names the file has, one date format, an amount or debit/credit columns."""
    clean = {key: (mapping.get(key) or "").strip() for key in ("date", "amount", "debit", "credit", "description")}
    clean["reference"] = (mapping.get("reference") or "").strip()
    clean["date_format"] = mapping.get("date_format") or "%Y-%m-%d"
    if clean["date_format"] not in DATE_FORMATS:
        raise StatementFileError("Choose how the dates are written.")
    if not clean["date"]:
        raise StatementFileError("Choose the column with the date.")
    if not clean["amount"] and not (clean["debit"] or clean["credit"]):
        raise StatementFileError("Choose the column with the amount, or the debit and credit columns.")
    for key, column in clean.items():
        if key != "date_format" and column and column not in names:
            raise StatementFileError(f"The file has no column “{column}”.")
    return clean


def parse(data: bytes, mapping: Mapping[str, str | None]) -> ParsedStatement:
    """Every row of the CSV as a line, or StatementFileError naming the first bad row (nothing is kept)."""
    names = header(data)
    columns = check_mapping(mapping, names)
    index = {name: position for position, name in enumerate(names)}
    lines = []
    for number, row in _rows(data):
        if number == 1 or not any(cell.strip() for cell in row):
            continue

        def get(key: str, row: list[str] = row) -> str:
            column = columns.get(key)
            return row[index[column]].strip() if column and index[column] < len(row) else ""

        try:
            posted_on = datetime.strptime(get("date"), columns["date_format"]).date()
        except ValueError:
            raise StatementFileError(
                f"Row {number}: “{get('date')[:20]}” is not a date written like "
                f"{DATE_FORMATS[columns['date_format']]}. Nothing was imported."
            ) from None
        try:
            if columns["amount"]:
                amount = signed_cents(get("amount"))
            else:
                credit, debit = signed_cents(get("credit")), signed_cents(get("debit"))
                amount = (credit or 0) - abs(debit or 0)
        except MoneyError as error:
            raise StatementFileError(
                f"Row {number}: the amount cannot be read ({error}) Nothing was imported."
            ) from None
        if not amount:
            continue  # a memo row or a zero movement
        reference = printable(get("reference"), 100) or None
        lines.append(
            ParsedLine(
                posted_on=posted_on,
                amount_cents=amount,
                description=printable(get("description"), 300),
                cheque_number=reference if reference and reference.isdigit() and len(reference) <= 20 else None,
            )
        )
        check_line_count(lines)  # as it grows: a file of millions stops at the limit
    if not lines:
        raise StatementFileError("The file has no statement lines.")
    return ParsedStatement(lines)


def _rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of a CSV; a row the csv module cannot read (a cell over its 128 KB limit, say) is a
    StatementFileError naming the row."""
    rows = csv.reader(io.StringIO(_decode(data)))
    number = 0
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise StatementFileError(f"Row {number} cannot be read ({error}). Nothing was imported.") from None
        yield number, row
