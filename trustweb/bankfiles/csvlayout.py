"""How a bank laid out its CSV, found from the data: the text's encoding, the delimiter, the title lines above the
table, and whether the table has a header row at all.

The delimiter is the one that splits the most lines into the same number of fields (csv.Sniffer guesses from a
few characters and is easily fooled by a decimal comma). The header is the first line of that width that names
columns and is followed by a dated row; a first line that is itself a dated row with an amount is data, and the
columns are then called "Column 1", "Column 2"...
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from trustweb.bankfiles import StatementFileError, check_size
from trustweb.bankfiles.csvvalues import any_date, looks_like_amount
from trustweb.text import printable

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_RECORDS = 400


@dataclass
class Layout:
    """The table in the file: its column names, data rows (row number as a spreadsheet shows it, cells) and what was
    found on the way, in words."""

    names: list[str]
    rows: list[tuple[int, list[str]]]
    delimiter: str
    encoding: str
    has_header: bool
    notes: list[str] = field(default_factory=list)
    unreadable: str | None = None  # the first row the csv module could not read: the columns can still be chosen
    preamble: list[str] = field(default_factory=list)  # the lines above the table, each as one text

    @property
    def width(self) -> int:
        return len(self.names)


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in: UTF-16 by its mark, UTF-8 (with or without a BOM), else
    Windows-1252, else Latin-1; refused when it is not text at all."""
    check_size(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise StatementFileError("The file is not text; export the statement as CSV or OFX.") from None
    sample = data[:8192]
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f") + sample.count(0x7F)
    if controls > max(2, len(sample) // 50):
        raise StatementFileError("The file is not text; export the statement as CSV or OFX.")
    for encoding, name in (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            return data.decode(encoding), name
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 reads any bytes")


def _records(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    """The first records as the csv module reads them with this delimiter; short of the limit at a record it cannot
    read."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append(record)
            if limit is not None and len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def filled(cells: list[str]) -> int:
    """The record's field count without the empty fields at its end (a trailing delimiter, a padded line)."""
    count = len(cells)
    while count and not cells[count - 1].strip():
        count -= 1
    return count


def _modal_width(records: list[list[str]]) -> tuple[int, int]:
    """(lines sharing the most common field count above one, that count); the wider wins a tie."""
    counts = Counter(filled(record) for record in records if filled(record) > 1)
    if not counts:
        return 0, 0
    width, lines = max(counts.items(), key=lambda item: (item[1], item[0]))
    return lines, width


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits most lines into one number of fields (comma first on a tie)."""
    scores = {delimiter: _modal_width(_records(text, delimiter, SNIFF_RECORDS)) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: scores[delimiter])
    if scores[best][0] == 0:
        raise StatementFileError(
            "The file has a single column: a statement needs at least a date and an amount, separated by commas, "
            "semicolons or tabs."
        )
    return best


def all_records(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    """Every record with its row number, up to one the csv module cannot read (a cell over its limit, say), and
    then what is wrong with that one, naming it."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return records, None
        except csv.Error as error:
            reason = str(error)
            if "field limit" in reason:
                reason = f"a cell is longer than {csv.field_size_limit():,} characters; is a quote left open?"
            return records, f"Row {number} cannot be read ({reason}). Nothing was imported."
        records.append((number, record))


def is_data_row(cells: list[str]) -> bool:
    """A dated row with an amount in another cell: a transaction, not column names."""
    for at, cell in enumerate(cells):
        if cell.strip() and any_date(cell) is not None:
            return any(looks_like_amount(other) for other_at, other in enumerate(cells) if other_at != at)
    return False


def _names_row(cells: list[str], width: int) -> bool:
    """Column names: at least two (half the columns), none a date or a number."""
    named = [cell.strip() for cell in cells if cell.strip()]
    if len(named) < max(2, (width + 1) // 2):
        return False
    return not any(any_date(cell) or looks_like_amount(cell) for cell in named)


def find_table(records: list[tuple[int, list[str]]], width: int) -> tuple[int, bool]:
    """(index of the table's first record, whether it is a header). Lines above it are a title or preamble."""
    rows = [(at, cells) for at, (_, cells) in enumerate(records) if any(cell.strip() for cell in cells)]
    wide = [(at, cells) for at, cells in rows if filled(cells) >= width]
    for position, (at, cells) in enumerate(wide):
        if is_data_row(cells):
            return at, False
        following = next((cells for _, cells in wide[position + 1 :]), None)
        if _names_row(cells, width) and (following is None or is_data_row(following)):
            return at, True
    if not wide:
        raise StatementFileError("The file has no rows of a table.")
    return wide[0][0], True  # nothing reads as names or data: take its first full line as names, and say so later


def column_names(cells: list[str], width: int) -> list[str]:
    """The header's names, cleaned; a blank or repeated name made unique ("Column 4", "Amount (2)")."""
    names: list[str] = []
    for at in range(width):
        name = printable(cells[at], 200) if at < len(cells) else ""
        name = name or f"Column {at + 1}"
        base, copy = name, 2
        while name in names:
            name, copy = f"{base} ({copy})", copy + 1
        names.append(name)
    return names


def sniff(data: bytes) -> Layout:
    """The file's table: its names and rows, and notes of what was skipped or found."""
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    records, unreadable = all_records(text, delimiter)
    if not records:
        raise StatementFileError(unreadable or "The file has no rows of a table.")
    _, width = _modal_width([cells for _, cells in records])
    start, has_header = find_table(records, width)
    notes = []
    if start:
        notes.append(
            f"{start} line{'s' if start > 1 else ''} above the table skipped (a title or the account's details)."
        )
    if has_header:
        header = records[start][1]
        body = records[start + 1 :]
    else:
        header = []
        body = records[start:]
    width = max([filled(header), *(filled(cells) for _, cells in body)])
    names = column_names(header, width)
    if not has_header:
        notes.append("The file has no header row: its first line is a transaction and is read as one.")
    blank = sum(1 for _, cells in body if not any(cell.strip() for cell in cells))
    if blank:
        notes.append(f"{blank} blank line{'s' if blank > 1 else ''} ignored.")
    rows = [(number, cells) for number, cells in body if any(cell.strip() for cell in cells)]
    if delimiter != ",":
        notes.insert(0, f"Fields separated by {DELIMITERS[delimiter]}s.")
    preamble = [" ".join(cell.strip() for cell in cells if cell.strip()) for _, cells in records[:start]]
    return Layout(names, rows, delimiter, encoding, has_header, notes, unreadable, preamble)
