"""A bank's OFX (or QFX) download, 1.x SGML or 2.x XML, read by ofxtools: its lines, period and ledger balance."""

import io
from decimal import Decimal
from typing import Any

from trustweb.bankfiles import ParsedLine, ParsedStatement, StatementFileError, check_line_count, check_size
from trustweb.ledger.money import MAX_CENTS
from trustweb.text import printable


def _cents(value: Any, what: str) -> int:
    """An OFX amount (a Decimal) as cents: finite, whole cents, within what the books hold."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise StatementFileError(f"The file's {what} is not an amount. Nothing was imported.")
    if abs(value) > Decimal(MAX_CENTS) / 100:  # before multiplying: 9E+999998 * 100 overflows the context
        raise StatementFileError(f"The file's {what} {value} is larger than the books hold. Nothing was imported.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise StatementFileError(f"The file's {what} {value} has fractions of a cent. Nothing was imported.")
    return int(cents)


def _bank_days(tree: Any) -> None:
    """Every time in the file cut to its day as the bank wrote it, which ofxtools then reads as midnight UTC, so
    .date() is that day: "20261031235959[-5:EST]" is Oct 31. (Taken
    through UTC and back to the firm's zone it could be Nov 1: the bank writes EST all year, and New York is on
    EDT until the first Sunday of November.)"""
    for element in tree.getroot().iter():
        if isinstance(element.tag, str) and element.tag.upper().startswith("DT") and element.text:
            element.text = element.text.strip()[:8]


def parse(data: bytes) -> ParsedStatement:
    """The file's one statement: its lines, period and ledger balance; StatementFileError when it cannot be read."""
    from ofxtools.Parser import OFXTree

    check_size(data)
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        _bank_days(tree)
        statements = tree.convert().statements
    except Exception as error:  # noqa: BLE001 - ofxtools raises many kinds; all mean the same to the person
        raise StatementFileError(f"The file is not a readable OFX statement ({type(error).__name__}).") from None
    if len(statements) != 1:
        raise StatementFileError("The file must hold exactly one account's statement.")
    statement = statements[0]
    transactions = statement.banktranlist
    lines = []
    for transaction in transactions or []:
        amount = _cents(transaction.trnamt, "amount")
        if not amount:
            continue
        lines.append(
            ParsedLine(
                posted_on=transaction.dtposted.date(),
                amount_cents=amount,
                description=printable(" ".join(filter(None, (transaction.name, transaction.memo))), 300),
                cheque_number=(transaction.checknum or None) and printable(str(transaction.checknum), 20),
                bank_reference=printable(str(transaction.fitid), 100) if transaction.fitid else None,
            )
        )
    check_line_count(lines)
    balance = statement.ledgerbal
    return ParsedStatement(
        lines,
        period_start=transactions.dtstart.date() if transactions is not None and transactions.dtstart else None,
        period_end=transactions.dtend.date() if transactions is not None and transactions.dtend else None,
        ending_balance_cents=_cents(balance.balamt, "ledger balance") if balance is not None else None,
    )
