"""The whole books out of TrustWeb: every journal line with its ledger, as CSV rows and as a beancount file.

For a firm leaving TrustWeb, or its auditor: with either file every ledger's balance can be rebuilt without us.
The CSV has one row per journal line, in entry order, naming the line's ledger (bank account and currency, kind,
key, client and matter), its amount (debit positive) and its ledger's running balance. The beancount file has an
`open` per ledger, one transaction per entry and, last, a `balance` assertion per ledger with TrustWeb's stored
balance, so `bean-check` proves the lines add up to what TrustWeb shows.

Both read one snapshot of the books (a REPEATABLE READ transaction on PostgreSQL; SQLite's read transaction is
one already) and stream the lines in batches: the ledgers are held in memory (one per client matter), the lines
never. Each costs a fixed number of statements however long the journal.

Signs: a line's amount is debit positive, credit negative, as in the journal and in beancount. A ledger's balance
in TrustWeb is in its natural sign (what is held for a client is positive); in beancount a liability's or an
income's balance is negative, so an assertion is the natural balance times NORMAL_SIGN.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.ledger.money import plain_cents_of_int
from trustweb.ledger.rules import NORMAL_SIGN, LedgerKind
from trustweb.models import DepositClearance, FirmSettings, JournalEntry, JournalLine, LedgerAccount
from trustweb.services.ledger_reports import stream_batches
from trustweb.services.reports import ENTRY_KINDS, spreadsheet_text

# Where each kind of ledger sits in beancount, chosen by its natural sign: a debit raises assets and expenses,
# a credit raises liabilities (money held for clients and the firm, what the firm owes its trust account) and income.
ROOTS: dict[str, tuple[str, ...]] = {
    LedgerKind.BANK: ("Assets", "Trust"),
    LedgerKind.CLIENT: ("Liabilities", "Trust"),
    LedgerKind.FIRM: ("Liabilities", "Trust"),
    LedgerKind.SHORTFALL: ("Liabilities", "Trust"),
    LedgerKind.OPERATING: ("Assets", "Operating"),
    LedgerKind.RECEIVABLE: ("Assets", "Operating"),
    LedgerKind.INCOME: ("Income",),
    LedgerKind.EXPENSE: ("Expenses",),
}
DEBIT_ROOTS = frozenset({"Assets", "Expenses"})
_LEAVES: dict[str, str] = {
    LedgerKind.BANK: "Bank",
    LedgerKind.FIRM: "Firm-Funds",
    LedgerKind.SHORTFALL: "Owed-By-Firm",
    LedgerKind.OPERATING: "Bank",
    LedgerKind.RECEIVABLE: "Receivable",
}
NO_MATTER = "Client-Funds"  # a client's money held without a matter
_WORD = re.compile(r"[A-Za-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

CSV_HEADER = (
    "Entry",
    "Entry id",
    "Date",
    "Kind",
    "Description",
    "Reference",
    "Cheque number",
    "Paid by / to",
    "Method",
    "Reverses",
    "Cleared on",
    "Line id",
    "Memo",
    "Bank account",
    "Currency",
    "Ledger kind",
    "Ledger key",
    "Ledger",
    "Contact id",
    "Client",
    "Matter",
    "Amount in cents (debit +)",
    "Amount (debit +)",
    "Change to the ledger's balance",
    "Ledger balance after",
    "Beancount account",
)


@dataclass(frozen=True)
class BookLedger:
    """One ledger as the export names it."""

    id: int
    key: str
    kind: str
    name: str
    bank_account: str
    currency: str
    contact_id: int | None
    client: str
    matter: str
    balance_cents: int  # natural sign, as TrustWeb stores it
    first_date: date | None  # its first and last lines' dates (None: no line ever moved it)
    last_date: date | None
    account: str  # its beancount account

    @property
    def sign(self) -> int:
        return NORMAL_SIGN[self.kind]


def component(text: str, fallback: str) -> str:
    """Text as one component of a beancount account name: ASCII letters, digits and hyphens, each word capitalised
    ("Client Trust (IOLTA)" is "Client-Trust-IOLTA"); the fallback when nothing of it is left."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "-".join(word[0].upper() + word[1:] for word in _WORD.findall(plain)) or fallback


def account_parts(ledger: LedgerAccount, bank: str) -> list[str]:
    """The components of a ledger's beancount account, its bank account's component given."""
    parts = [*ROOTS[ledger.kind], bank]
    if ledger.kind == LedgerKind.CLIENT:
        client = component(f"{ledger.contact_id} {ledger.contact.name}", str(ledger.contact_id))
        matter = component(ledger.matter.number, f"Matter-{ledger.matter_id}") if ledger.matter else NO_MATTER
        return [*parts, "Clients", client, matter]
    if ledger.kind in (LedgerKind.INCOME, LedgerKind.EXPENSE):
        return [*parts, component(ledger.key.split(":", 2)[-1], f"Ledger-{ledger.id}")]
    return [*parts, _LEAVES[ledger.kind]]


def _snapshot() -> None:
    """Begin the transaction the export reads in: one view of the books from the first statement to the last,
    so no entry committed meanwhile is half in the file."""
    db.session.rollback()  # the request's own reads end here: a snapshot is taken at a transaction's start
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})


def ledgers() -> dict[int, BookLedger]:
    """Every ledger with its names, balance and the dates of its first and last lines, by id (two statements)."""
    spans = {
        ledger_id: (first, last)
        for ledger_id, first, last in db.session.execute(
            select(JournalLine.ledger_account_id, func.min(JournalEntry.entry_date), func.max(JournalEntry.entry_date))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .group_by(JournalLine.ledger_account_id)
        )
    }
    rows = db.session.scalars(
        select(LedgerAccount)
        .options(
            joinedload(LedgerAccount.bank_account),
            joinedload(LedgerAccount.contact),
            joinedload(LedgerAccount.matter),
        )
        .order_by(LedgerAccount.id)
    ).all()
    banks: dict[int, str] = {}
    for ledger in sorted(rows, key=lambda ledger: ledger.bank_account_id):
        if ledger.bank_account_id not in banks:
            bank = component(ledger.bank_account.name, f"Account-{ledger.bank_account_id}")
            banks[ledger.bank_account_id] = bank if bank not in banks.values() else f"{bank}-{ledger.bank_account_id}"
    taken: set[str] = set()
    found = {}
    for ledger in rows:
        parts = account_parts(ledger, banks[ledger.bank_account_id])
        if ":".join(parts) in taken:  # two names that read the same once sanitised: the later one gets its id
            parts[-1] = f"{parts[-1]}-{ledger.id}"
        taken.add(":".join(parts))
        first, last = spans.get(ledger.id, (None, None))
        found[ledger.id] = BookLedger(
            id=ledger.id,
            key=ledger.key,
            kind=ledger.kind,
            name=ledger.name,
            bank_account=ledger.bank_account.name,
            currency=ledger.bank_account.currency,
            contact_id=ledger.contact_id,
            client=ledger.contact.name if ledger.contact else "",
            matter=ledger.matter.number if ledger.matter else "",
            balance_cents=ledger.balance_cents,
            first_date=first,
            last_date=last,
            account=":".join(parts),
        )
    return found


def _lines() -> Iterator[Sequence[Any]]:
    """Every journal line with its entry, in entry order, in batches streamed from the database (one statement)."""
    statement = (
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.kind,
            JournalEntry.description,
            JournalEntry.reference,
            JournalEntry.cheque_number,
            JournalEntry.counterparty,
            JournalEntry.method,
            JournalEntry.reverses_id,
            DepositClearance.cleared_on,
            JournalLine.id,
            JournalLine.memo,
            JournalLine.ledger_account_id,
            JournalLine.amount_cents,
            JournalLine.balance_after_cents,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .outerjoin(DepositClearance, DepositClearance.entry_id == JournalEntry.id)
        .order_by(JournalLine.entry_id, JournalLine.id)
    )
    return stream_batches(statement)


def _number(entry_id: int | None) -> str:
    return f"JE-{entry_id:06d}" if entry_id is not None else ""


def csv_batches() -> Iterator[list[tuple[Any, ...]]]:
    """The header, then every journal line as a CSV row, a batch at a time. Text a person typed gets the
    spreadsheet's guard (a leading apostrophe before = + - @) as in every CSV of TrustWeb."""
    _snapshot()
    books = ledgers()
    yield [CSV_HEADER]
    safe, money, kinds = spreadsheet_text, plain_cents_of_int, ENTRY_KINDS
    for rows in _lines():
        batch = []
        for (
            entry_id,
            entry_date,
            kind,
            description,
            reference,
            cheque,
            counterparty,
            method,
            reverses,
            cleared_on,
            line_id,
            memo,
            ledger_id,
            amount,
            balance_after,
        ) in rows:
            ledger = books[ledger_id]
            batch.append(
                (
                    _number(entry_id),
                    entry_id,
                    entry_date.isoformat(),
                    kinds.get(kind, kind),
                    safe(description),
                    safe(reference) or "",
                    safe(cheque) or "",
                    safe(counterparty) or "",
                    method or "",
                    _number(reverses),
                    cleared_on.isoformat() if cleared_on else "",
                    line_id,
                    safe(memo) or "",
                    safe(ledger.bank_account),
                    ledger.currency,
                    ledger.kind,
                    ledger.key,
                    safe(ledger.name),
                    ledger.contact_id or "",
                    safe(ledger.client),
                    safe(ledger.matter),
                    amount,
                    money(amount),
                    money(ledger.sign * amount),
                    money(balance_after),
                    ledger.account,
                )
            )
        yield batch


def quoted(text: str | None) -> str:
    """Text as a beancount string: quotes and backslashes escaped, line breaks and other control characters as
    spaces."""
    text = (text or "").replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(" ", text) + '"'


def _amount(cents: int, currency: str) -> str:
    return f"{plain_cents_of_int(cents)} {currency}"


def _transaction(head: Sequence[Any], postings: Iterable[tuple[BookLedger, int, str | None]]) -> str:
    entry_id, entry_date, kind, description, reference, cheque, counterparty, method, reverses, cleared_on = head
    title = f"{quoted(counterparty)} {quoted(description)}" if counterparty else quoted(description)
    text = [f"{entry_date.isoformat()} * {title}", f'  entry: "{_number(entry_id)}"', f'  kind: "{kind}"']
    for key, value in (("method", method), ("reference", reference), ("cheque", cheque)):
        if value:
            text.append(f"  {key}: {quoted(value)}")
    if reverses is not None:
        text.append(f'  reverses: "{_number(reverses)}"')
    if cleared_on is not None:
        text.append(f"  cleared: {cleared_on.isoformat()}")
    for ledger, amount, memo in postings:
        text.append(f"  {ledger.account}  {_amount(amount, ledger.currency)}")
        if memo:
            text.append(f"    memo: {quoted(memo)}")
    return "\n".join(text) + "\n\n"


def _open(ledger: BookLedger) -> str:
    assert ledger.first_date is not None
    text = [f"{ledger.first_date.isoformat()} open {ledger.account} {ledger.currency}"]
    text.append(f"  key: {quoted(ledger.key)}")
    text.append(f"  name: {quoted(ledger.name)}")
    if ledger.contact_id is not None:
        text.append(f"  contact: {ledger.contact_id}")
        text.append(f"  client: {quoted(ledger.client)}")
    if ledger.matter:
        text.append(f"  matter: {quoted(ledger.matter)}")
    return "\n".join(text) + "\n"


def beancount_text(today: date) -> Iterator[str]:
    """The books as one beancount file, a chunk at a time: options, an `open` per ledger (on its first line's
    date, in its currency), one transaction per journal entry, and a `balance` assertion per ledger the day after
    its last line, with TrustWeb's stored balance in beancount's signs. A ledger no line ever moved is left out
    (its balance is zero)."""
    _snapshot()
    firm = FirmSettings.get()
    books = ledgers()
    moved = sorted((ledger for ledger in books.values() if ledger.first_date is not None), key=lambda x: x.account)
    head = [
        f"; The books of {firm.firm_name}, exported from TrustWeb on {today.isoformat()}.",
        "; One transaction per journal entry (its number in `entry`); amounts debit positive. Every ledger ends in a",
        "; balance assertion with TrustWeb's balance: `bean-check` on this file proves the lines add up to it.",
        "; A ledger's key (`key` on its open) is TrustWeb's name for it: bank:<account>, client:<account>:<contact>:",
        "; <matter>, firm:, shortfall:, operating:, receivable:, income:, expense:.",
        "",
        f"option {quoted('title')} {quoted(firm.firm_name + ': books from TrustWeb')}",
        *(f'option "operating_currency" "{currency}"' for currency in sorted({x.currency for x in moved})),
        "",
    ]
    yield "\n".join(head) + "\n" + "".join(_open(ledger) for ledger in moved) + "\n"
    entry: list[Any] | None = None
    postings: list[tuple[BookLedger, int, str | None]] = []
    for rows in _lines():
        chunk = []
        for row in rows:
            if entry is None or row[0] != entry[0]:
                if entry is not None:
                    chunk.append(_transaction(entry, postings))
                entry, postings = list(row[:10]), []
            postings.append((books[row[12]], row[13], row[11]))
        yield "".join(chunk)
    if entry is not None:
        yield _transaction(entry, postings)
    yield "".join(
        f"{(ledger.last_date + timedelta(days=1)).isoformat()} balance {ledger.account}  "
        f"{_amount(ledger.sign * ledger.balance_cents, ledger.currency)}\n"
        for ledger in moved
        if ledger.last_date is not None
    )
