"""A bank's OFX download (also QFX, QBO), 1.x SGML or 2.x XML, read as banks really write it.

ofxtools' converter checks a file against the OFX specification and refuses
what real banks send every day: a header missing, commented out or run into
one line, CHARSET:8859-1, a ten-digit BANKID, empty or self-closed tags,
tags a bank invented, no LEDGERBAL. So the file is read here by what it says:
the header is skipped up to <OFX>, the text decoded as it was written (UTF-8,
else the charset it names, else Windows-1252), and the markup built into a
tree in which an SGML element closes at the next tag and a closing tag closes
whatever is still open inside it. Then each statement is taken from the tree:
a bank account's (STMTRS), a credit card's (CCSTMTRS) or an investment
account's (INVSTMTRS); only a bank account's is imported.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from trustweb.bankfiles import ParsedLine, ParsedStatement, StatementFileError, check_line_count, check_size
from trustweb.bankfiles.checks import pick_statement
from trustweb.ledger.money import MAX_CENTS
from trustweb.text import printable

KINDS = {"STMTRS": "bank", "CCSTMTRS": "credit card", "INVSTMTRS": "investment"}
TOKEN = re.compile(
    r"<!\[CDATA\[(?P<cdata>.*?)\]\]>|<(?P<close>/)?(?P<tag>[A-Za-z][A-Za-z0-9._:-]*)[^<>]*?(?P<empty>/)?>", re.S
)
NEVER_NESTED = {"STMTTRN", "STMTRS", "CCSTMTRS", "INVSTMTRS", "STMTTRNRS", "CCSTMTTRNRS", "INVSTMTTRNRS"}
CHARSETS = {"1252": "cp1252", "8859-1": "latin-1", "ISO-8859-1": "latin-1", "UTF-8": "utf-8", "NONE": "cp1252"}


@dataclass
class Node:
    """One element of the file: its tag, its text (a leaf) or its children (an aggregate)."""

    tag: str
    parent: "Node | None" = None
    text: str = ""
    children: list["Node"] = field(default_factory=list)

    def find(self, tag: str) -> "Node | None":
        """The first element of that tag inside this one (in the file's order), not looking into a transaction."""
        waiting = list(reversed(self.children))
        while waiting:  # not recursive: a file of unclosed tags nests as deep as it is long
            node = waiting.pop()
            if node.tag == tag:
                return node
            if node.tag != "STMTTRN":
                waiting.extend(reversed(node.children))
        return None

    def text_of(self, tag: str) -> str:
        found = self.find(tag)
        return found.text if found is not None else ""

    def all(self, tag: str) -> list["Node"]:
        """Every element of that tag inside this one, in the file's order, not looking inside those found."""
        found, waiting = [], list(reversed(self.children))
        while waiting:
            node = waiting.pop()
            if node.tag == tag:
                found.append(node)
            else:
                waiting.extend(reversed(node.children))
        return found


def decode(data: bytes) -> str:
    """The file as text: UTF-8 (with or without a BOM) when it is, else the charset it names, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    head = data[:1000].decode("latin-1").upper()
    named = re.search(r"CHARSET\s*[:=]\s*\"?([A-Z0-9-]+)|ENCODING=\"([A-Z0-9-]+)\"", head)
    charset = CHARSETS.get((named.group(1) or named.group(2)) if named else "", "cp1252")
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1")  # every byte is a character in it: never refused for its encoding


def tree(text: str) -> Node:
    """The markup from <OFX> on as a tree, whatever the header before it and however the elements are closed."""
    start = re.search(r"<OFX\s*>", text, re.I)
    if start is None:
        raise StatementFileError(
            "The file is not an OFX statement: it has no <OFX> section. Download the statement again as OFX, QFX "
            "or QBO (Quicken, QuickBooks or Money), or import the bank's CSV. Nothing was imported."
        )
    body = re.sub(r"<!--.*?-->", "", text[start.start() :], flags=re.S)
    root = Node("ROOT")
    top = root
    at = 0
    for token in TOKEN.finditer(body):
        between = body[at : token.start()].strip()
        at = token.end()
        if token.group("cdata") is not None:
            between = (between + " " + token.group("cdata")).strip()
        if between and top is not root:
            top.text = (top.text + " " + html.unescape(between)).strip()
        if token.group("cdata") is not None:
            continue
        tag = token.group("tag").upper()
        if token.group("close"):
            opened = _open(top, tag)
            if opened is not None:  # a closing tag of nothing open (already closed as a leaf) is passed over
                top = opened.parent  # type: ignore[assignment]
            continue
        if top.text and top is not root:
            top = top.parent  # type: ignore[assignment]  # an SGML leaf ends where the next tag starts
        opened = _open(top, tag) if tag in NEVER_NESTED else None
        if opened is not None:  # a transaction (or statement) left open ends where the next one starts
            top = opened.parent  # type: ignore[assignment]
        node = Node(tag, parent=top)
        top.children.append(node)
        if not token.group("empty"):
            top = node
    return root


def _open(top: Node, tag: str) -> Node | None:
    """The element of that tag still open at this point of the file, if any."""
    opened: Node | None = top
    while opened is not None and opened.tag != tag:
        opened = opened.parent
    return opened


def _amount(text: str, what: str) -> Decimal:
    """A bank's amount: "-1234.56", "+12.5", "1234,56" or "1.234,56" (a comma before the cents)."""
    written = text.replace(" ", "").replace("\u00a0", "")
    if "," in written and ("." not in written or written.rfind(",") > written.rfind(".")):
        written = written.replace(".", "").replace(",", ".")
    else:
        written = written.replace(",", "")
    try:
        value = Decimal(written)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise StatementFileError(f"The file's {what} “{text[:30]}” is not an amount. Nothing was imported.")
    return value


def _cents(value: Decimal, what: str) -> int:
    """An amount as cents: whole cents, within what the books hold."""
    if abs(value) > Decimal(MAX_CENTS) / 100:  # before multiplying: 9E+999998 * 100 overflows the context
        raise StatementFileError(f"The file's {what} {value} is larger than the books hold. Nothing was imported.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise StatementFileError(f"The file's {what} {value} has fractions of a cent. Nothing was imported.")
    return int(cents)


def _day(text: str, what: str) -> date | None:
    """An OFX date or time as the day the bank wrote ("20261031235959[-5:EST]" is Oct 31); "" is None.

    Taken through UTC and back to the firm's zone it could be Nov 1: the bank writes EST all year, and New York
    is on EDT until the first Sunday of November."""
    if not text:
        return None
    digits = text.strip()[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise StatementFileError(f"The file's {what} “{text[:30]}” is not a date. Nothing was imported.") from None


def _statement(node: Node) -> ParsedStatement:
    """One STMTRS (or CCSTMTRS, INVSTMTRS) as a statement: its account, currency, lines, period and balance."""
    lines = []
    for number, transaction in enumerate(node.all("STMTTRN"), start=1):
        what = f"transaction {number} ({transaction.text_of('FITID') or 'no id'})"
        amount = _cents(_amount(transaction.text_of("TRNAMT"), f"amount of {what}"), f"amount of {what}")
        posted_on = _day(transaction.text_of("DTPOSTED"), f"date of {what}")
        if posted_on is None:
            raise StatementFileError(f"The file's {what} has no date. Nothing was imported.")
        if not amount:
            continue
        name, memo = transaction.text_of("NAME"), transaction.text_of("MEMO")
        cheque = transaction.text_of("CHECKNUM")
        lines.append(
            ParsedLine(
                posted_on=posted_on,
                amount_cents=amount,
                description=printable(" ".join(filter(None, (name, memo if memo != name else ""))), 300),
                cheque_number=printable(cheque, 20) or None,
                bank_reference=printable(transaction.text_of("FITID"), 100) or None,
            )
        )
        check_line_count(lines)
    balance = node.find("LEDGERBAL")
    balance_text = balance.text_of("BALAMT") if balance is not None else ""
    account = node.find("BANKACCTFROM") or node.find("CCACCTFROM") or node.find("INVACCTFROM")
    transactions = node.find("BANKTRANLIST") or node.find("INVTRANLIST") or Node("NONE")
    return ParsedStatement(
        lines,
        period_start=_day(transactions.text_of("DTSTART"), "first day"),
        period_end=_day(transactions.text_of("DTEND"), "last day"),
        ending_balance_cents=(
            _cents(_amount(balance_text, "ledger balance"), "ledger balance") if balance_text else None
        ),
        account_number=printable(account.text_of("ACCTID"), 40) or None if account is not None else None,
        currency=(node.text_of("CURDEF").strip().upper()[:3] or None),
        kind=KINDS[node.tag],
    )


def read(data: bytes) -> list[ParsedStatement]:
    """Every statement in the file, of whatever kind, in the file's order."""
    check_size(data)
    root = tree(decode(data))
    found = [_statement(node) for node in _statement_nodes(root)]
    if not found:
        status = next((s for s in root.all("STATUS") if s.text_of("CODE").strip() not in ("", "0")), None)
        if status is not None:
            said = printable(status.text_of("MESSAGE"), 200) or f"error {printable(status.text_of('CODE'), 20)}"
            raise StatementFileError(f"The bank's file holds an error instead of a statement: {said}.")
        raise StatementFileError("The file holds no account statement (no STMTRS section). Nothing was imported.")
    return found


def _statement_nodes(root: Node) -> list[Node]:
    """The statements in the file's order, whatever their kind."""
    found, waiting = [], list(reversed(root.children))
    while waiting:
        node = waiting.pop()
        if node.tag in KINDS:
            found.append(node)
        else:
            waiting.extend(reversed(node.children))
    return found


def parse(data: bytes, account_last4: str | None = None) -> ParsedStatement:
    """The file's bank statement, or the one of the account ending account_last4 when it holds several."""
    return pick_statement(read(data), account_last4)
