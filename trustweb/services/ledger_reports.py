"""Reports of the trust ledgers: one client's ledger, the account's journal, and every client's balance as of a
day. Balances "as of" a day are the ledger's current balance less what was dated after it, so a recent day
reads few lines however long the history is; the journal's CSV streams from Core rows in flat memory.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import Row, Select, String, case, cast, func, or_, select

from trustweb.extensions import db
from trustweb.ledger.keys import bank_key, client_key, operating_key
from trustweb.ledger.money import plain_cents_of_int
from trustweb.ledger.rules import NORMAL_SIGN
from trustweb.models import BankAccount, Contact, JournalEntry, JournalLine, LedgerAccount, Matter, User
from trustweb.services.clients import name_contains
from trustweb.services.reports import (
    ENTRY_KINDS,
    FORMULA_STARTS,
    HELD_KINDS,
    Column,
    Filters,
    Report,
    ReportRow,
    account_of,
    currency_line,
)


def cheque_or_reference() -> Any:
    """An entry's cheque number and its reference in one column ("Cheque 1042 · INV-7"), made by the database so
    the journal's CSV stream stays a plain row per entry."""
    cheque = JournalEntry.cheque_number
    reference = func.coalesce(JournalEntry.reference, "")
    return case(
        (cheque.is_(None), reference),
        (reference == "", "Cheque " + cheque),
        else_="Cheque " + cheque + " · " + reference,
    ).label("reference")


def client_ledger(filters: Filters, today: date) -> Report:
    """One client ledger (a matter's, or the client's funds without a matter) over a date range, with the opening
    balance, each entry's running balance, and the closing balance."""
    ledger = _client_ledger_of(filters)
    columns = [
        Column("date", "Date", "date"),
        Column("entry", "Entry"),
        Column("description", "Description"),
        Column("counterparty", "Paid by / to"),
        Column("reference", "Cheque / reference"),
        Column("in", "In", "money"),
        Column("out", "Out", "money"),
        Column("balance", "Balance", "money", running=True),
    ]
    if ledger is None:
        return Report("client-ledger", "Client ledger", columns, [], note="Nothing has been held for this client.")
    sign = NORMAL_SIGN[ledger.kind]
    lines = (
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.description,
            JournalEntry.counterparty,
            cheque_or_reference(),
            JournalLine.amount_cents,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.ledger_account_id == ledger.id)
    )
    opening = 0
    if filters.date_from is not None:
        opening = sign * _balance_before(ledger.id, filters.date_from)
        lines = lines.where(JournalEntry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        lines = lines.where(JournalEntry.entry_date <= filters.date_to)
    rows: list[ReportRow] = []
    balance = opening
    totals = {"in": 0, "out": 0}
    for entry_id, entry_date, description, counterparty, reference, amount in db.session.execute(
        lines.order_by(JournalEntry.entry_date, JournalEntry.id)
    ):
        natural = sign * amount
        balance += natural
        rows.append(
            {
                "date": entry_date,
                "entry": f"JE-{entry_id:06d}",
                "description": description,
                "counterparty": counterparty or "",
                "reference": reference or "",
                "in": natural if natural > 0 else None,
                "out": -natural if natural < 0 else None,
                "balance": balance,
                "_entry_id": entry_id,
            }
        )
        totals["in" if natural > 0 else "out"] += abs(natural)
    totals["balance"] = balance
    summary = [
        ("Ledger", ledger.name, "text"),
        ("Trust account", ledger.bank_account.name, "text"),
        *currency_line(ledger.bank_account),
        ("Opening balance", opening, "money"),
        ("Money in", totals["in"], "money"),
        ("Money out", totals["out"], "money"),
        ("Closing balance", balance, "money"),
    ]
    report = Report("client-ledger", f"Client ledger: {ledger.name}", columns, rows, totals, summary)
    report.currency = ledger.bank_account.currency
    return report


def _client_ledger_of(filters: Filters) -> LedgerAccount | None:
    if filters.matter is not None:
        contact_id, matter_id = filters.matter.client_id, filters.matter.id
    elif filters.contact is not None:
        contact_id, matter_id = filters.contact.id, None
    else:
        return None
    statement = select(LedgerAccount).where(LedgerAccount.kind == "client", LedgerAccount.contact_id == contact_id)
    keys = [client_key(filters.account.id, contact_id, matter_id)] if filters.account is not None else None
    if keys is not None:
        statement = statement.where(LedgerAccount.key.in_(keys))
    elif filters.matter is not None:
        statement = statement.where(LedgerAccount.matter_id == filters.matter.id)
    else:
        statement = statement.where(LedgerAccount.matter_id.is_(None))
    return db.session.scalars(statement.order_by(LedgerAccount.id)).first()


def bank_ledger(account: BankAccount) -> LedgerAccount | None:
    return db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == bank_key(account.id)))


def _balance_before(ledger_id: int, day: date) -> int:
    """A ledger's summed line amounts dated before the day (its raw sign)."""
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(JournalLine.amount_cents), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.ledger_account_id == ledger_id, JournalEntry.entry_date < day)
        ).scalar_one()
    )


# Rows fetched from the server-side cursor at a time, and written to the response as one chunk. A batch's rows and
# its CSV tuples are alive together: a few hundred stay in the CPU's caches and die young for the garbage
# collector (batches of 5,000 made the export a third slower).
CSV_BATCH = 500

JOURNAL_COLUMNS = [
    Column("date", "Date", "date"),
    Column("entry", "Entry"),
    Column("kind", "Kind"),
    Column("description", "Description"),
    Column("counterparty", "Paid by / to"),
    Column("reference", "Cheque / reference"),
    Column("in", "Deposits", "money"),
    Column("out", "Withdrawals", "money"),
    Column("balance", "Balance", "money", running=True),
]


def journal_statement(account: BankAccount, filters: Filters) -> tuple[Select[Any], LedgerAccount | None]:
    """The trust account's entries in date order, each with what it did to the bank balance (0 for a transfer
    between two ledgers); Core rows, so a long export reads them without building objects."""
    ledger = bank_ledger(account)
    bank_line = (
        select(JournalLine.entry_id, JournalLine.amount_cents)
        .where(JournalLine.ledger_account_id == (ledger.id if ledger is not None else -1))
        .subquery()
    )
    statement = (
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.kind,
            JournalEntry.description,
            JournalEntry.counterparty,
            cheque_or_reference(),
            func.coalesce(bank_line.c.amount_cents, 0).label("bank_amount"),
        )
        .outerjoin(bank_line, bank_line.c.entry_id == JournalEntry.id)
        .where(JournalEntry.bank_account_id == account.id)
    )
    if filters.date_from is not None:
        statement = statement.where(JournalEntry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(JournalEntry.entry_date <= filters.date_to)
    return statement.order_by(JournalEntry.entry_date, JournalEntry.id), ledger


def journal_rows(rows: Iterable[Row[Any]], opening: int) -> Iterator[ReportRow]:
    """Rows of the journal with their running balance, one at a time."""
    balance = opening
    for entry_id, entry_date, kind, description, counterparty, reference, amount in rows:
        balance += amount
        yield {
            "date": entry_date,
            "entry": f"JE-{entry_id:06d}",
            "kind": ENTRY_KINDS.get(kind, kind),
            "description": description,
            "counterparty": counterparty or "",
            "reference": reference or "",
            "in": amount if amount > 0 else None,
            "out": -amount if amount < 0 else None,
            "balance": balance,
            "_entry_id": entry_id,
        }


def stream_batches(statement: Select[Any]) -> Iterator[Sequence[Any]]:
    """The statement's rows, CSV_BATCH at a time, without holding them all. SQLite's cursor steps through the query
    as it is read. On PostgreSQL a server-side cursor would cost a FETCH round trip per batch, with the server idle
    while Python writes and Python idle while it reads: psycopg's stream() sends the query once and the rows flow in
    chunks (libpq's chunked mode) while the batch before is written. A fifth less CPU in all, server and app."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        yield from connection.execute(statement.execution_options(yield_per=CSV_BATCH)).partitions()
        return
    compiled = statement.compile(dialect=connection.dialect)
    psycopg: Any = connection.connection.driver_connection  # in the session's transaction, as the ORM's statements
    rows = psycopg.cursor().stream(str(compiled), compiled.params, size=CSV_BATCH)
    while batch := list(islice(rows, CSV_BATCH)):
        yield batch


def _streamed_csv(statement: Select[Any], opening: int) -> Iterator[list[tuple[str, ...]]]:
    """The journal as CSV rows, in batches streamed from the database as plain rows (no objects). The query runs
    only once iterated, so a streamed response opens it after the request's own work (and its commits) are
    done. Dates come as the database's ISO text; amounts go through the unchecked fast path of plain_cents (the
    column is a BIGINT), and a text cell is checked for a formula's first character inline: this loop runs once per
    entry of the account's history, and each call saved is a second or so at a million entries."""
    statement = statement.with_only_columns(
        statement.selected_columns[0],
        cast(JournalEntry.entry_date, String(10)),
        *statement.selected_columns[2:],
    )
    balance = opening
    kinds, money, formula = ENTRY_KINDS, plain_cents_of_int, FORMULA_STARTS
    for rows in stream_batches(statement):
        batch: list[tuple[str, ...]] = []
        add = batch.append
        for entry_id, entry_date, kind, description, counterparty, reference, amount in rows:
            balance += amount
            add(
                (
                    entry_date,
                    f"JE-{entry_id:06d}",
                    kinds.get(kind, kind),
                    "'" + description if description and description[0] in formula else description,
                    ("'" + counterparty if counterparty[0] in formula else counterparty) if counterparty else "",
                    ("'" + reference if reference[0] in formula else reference) if reference else "",
                    money(amount) if amount > 0 else "",
                    money(-amount) if amount < 0 else "",
                    money(balance),
                )
            )
        yield batch


def journal(filters: Filters, today: date, *, offset: int = 0, limit: int | None = None) -> Report:
    """The trust account journal: every entry in order, with the running bank balance. With a limit, one page of
    it (the running balance still counts every entry before the page); without, a generator of all of it."""
    account = account_of(filters)
    statement, ledger = journal_statement(account, filters)
    opening = _balance_before(ledger.id, filters.date_from) if ledger is not None and filters.date_from else 0
    if offset:
        # A column collection takes no negative index: the bank amount is asked for by its name.
        before = statement.with_only_columns(statement.selected_columns.bank_amount).limit(offset).subquery()
        opening += int(db.session.execute(select(func.coalesce(func.sum(before.c.bank_amount), 0))).scalar_one())
    summary = [("Trust account", account.name, "text"), ("Opening balance", opening, "money")]
    report = Report("journal", f"Trust account journal: {account.name}", JOURNAL_COLUMNS, [], {}, summary)
    report.currency = account.currency
    if limit is not None:
        report.rows = list(journal_rows(db.session.execute(statement.offset(offset).limit(limit)), opening))
    else:
        report.csv_batches = _streamed_csv(statement, opening)
    return report


def journal_totals(filters: Filters) -> dict[str, int]:
    """Opening balance, deposits, withdrawals, closing balance and the count of entries for the filtered range."""
    statement, ledger = journal_statement(account_of(filters), filters)
    inner = statement.order_by(None).subquery()
    amount = inner.c.bank_amount
    count, deposits, withdrawals = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0),
            func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0),
        ).select_from(inner)
    ).one()
    deposits, withdrawals = int(deposits), int(withdrawals)
    opening = _balance_before(ledger.id, filters.date_from) if ledger is not None and filters.date_from else 0
    return {
        "count": count,
        "opening": opening,
        "in": deposits,
        "out": withdrawals,
        "closing": opening + deposits - withdrawals,
    }


def held_balances(account: BankAccount, as_of: date) -> dict[int, int]:
    """Every ledger of the trust account as of the end of a day: {ledger id: natural balance}, and the bank's."""
    after = dict(
        db.session.connection()
        .execute(
            select(JournalLine.ledger_account_id, func.sum(JournalLine.amount_cents))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalEntry.bank_account_id == account.id, JournalEntry.entry_date > as_of)
            .group_by(JournalLine.ledger_account_id)
        )
        .tuples()
        .all()
    )
    ledgers = (
        db.session.connection()
        .execute(
            select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.balance_cents).where(
                LedgerAccount.bank_account_id == account.id
            )
        )
        .all()
    )
    balances: dict[int, int] = {}
    for ledger_id, kind, balance in ledgers:
        sign = NORMAL_SIGN[kind]
        balances[ledger_id] = balance - sign * int(after.get(ledger_id, 0))
    return balances


def client_balances(filters: Filters, today: date) -> Report:
    """Every client ledger of the trust account with its balance at the end of a day, and the proof: their total
    (with the firm's own money and what the firm owes) equals the account's journal balance."""
    account = account_of(filters)
    as_of = filters.as_of or today
    balances = held_balances(account, as_of)
    statement = (
        select(
            LedgerAccount.id,
            LedgerAccount.kind,
            Contact.name,
            Matter.number,
            Matter.description,
            User.name,
            Matter.lawyer_id,
            LedgerAccount.matter_id,
            LedgerAccount.contact_id,
        )
        .outerjoin(Contact, Contact.id == LedgerAccount.contact_id)
        .outerjoin(Matter, Matter.id == LedgerAccount.matter_id)
        .outerjoin(User, User.id == Matter.lawyer_id)
        .where(LedgerAccount.bank_account_id == account.id, LedgerAccount.kind.in_(HELD_KINDS))
        .order_by(LedgerAccount.kind, Contact.name, Matter.number, LedgerAccount.id)
    )
    rows: list[ReportRow] = []
    total_held = 0
    narrowed = filters.lawyer is not None or filters.matter is not None or filters.contact is not None
    bank = bank_ledger(account)
    for (
        ledger_id,
        kind,
        client,
        number,
        description,
        lawyer,
        lawyer_id,
        matter_id,
        contact_id,
    ) in db.session.connection().execute(statement):
        balance = balances.get(ledger_id, 0)
        total_held += balance
        if balance == 0:
            continue
        if filters.lawyer is not None and lawyer_id != filters.lawyer.id:
            continue
        if filters.matter is not None and matter_id != filters.matter.id:
            continue
        if filters.contact is not None and filters.matter is None and contact_id != filters.contact.id:
            continue
        if kind == "client":
            name, matter = client, f"{number} · {description}" if number else "Client funds (no matter)"
        elif kind == "firm":
            name, matter = "Firm's own funds", ""
        else:
            name, matter = "Owed by the firm (fees and chargebacks to replace)", ""
        rows.append({"client": name, "matter": matter, "lawyer": lawyer or "", "balance": balance})
    journal_balance = balances.get(bank.id, 0) if bank is not None else 0
    listed = sum(row["balance"] for row in rows)
    columns = [
        Column("client", "Client"),
        Column("matter", "Matter"),
        Column("lawyer", "Lawyer"),
        Column("balance", "Balance", "money"),
    ]
    summary = [
        ("Trust account", account.name, "text"),
        *currency_line(account),
        ("As of the end of", as_of, "date"),
        ("Client ledgers listed", len(rows), "number"),
        ("Total of all client ledgers", total_held, "money"),
        ("Trust account journal balance", journal_balance, "money"),
        ("Difference", journal_balance - total_held, "money"),
    ]
    report = Report("balances", f"Client trust balances: {account.name}", columns, rows, {"balance": listed}, summary)
    report.currency = account.currency
    if narrowed:
        report.note = (
            "Narrowed by lawyer, client or matter: the table lists part of the ledgers; "
            "the totals above are the whole account's."
        )
    return report


MATTERS_FOUND = 20  # the matter picker's matches: a few to choose from, never the firm's every matter


def matters_found(text: str, limit: int = MATTERS_FOUND) -> list[Row[Any]]:
    """The first matters (any status: a closed one still has its ledger) whose number, description or client's name
    holds the text, newest number first: (number, client's name, description, status)."""
    from trustweb.views import contains  # the one LIKE rule of every search box

    if not text:
        return []
    return list(
        db.session.execute(
            select(Matter.number, Contact.name, Matter.description, Matter.status)
            .join(Matter.client)
            .where(or_(contains(Matter.number, text), name_contains(text), contains(Matter.description, text)))
            .order_by(Matter.number.desc())
            .limit(limit)
        ).all()
    )


REGISTER_HEADER = ("Date", "Entry", "Description", "Paid by / to", "Cheque / reference", "In", "Out", "Balance")


def operating_ledger(account: BankAccount) -> LedgerAccount | None:
    """An operating account's bank ledger: what its register lists (None until money has moved through it)."""
    return db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == operating_key(account.id)))


def register_batches(ledger: LedgerAccount | None) -> Iterator[Sequence[Any]]:
    """An operating account's register as CSV rows, its header first, then its lines in the order they were booked,
    each with the balance the books stored after it (the register's running balance), streamed in batches."""
    yield [REGISTER_HEADER]
    if ledger is None:
        return
    statement = (
        select(
            cast(JournalEntry.entry_date, String(10)),
            JournalEntry.id,
            JournalEntry.description,
            JournalEntry.counterparty,
            cheque_or_reference(),
            JournalLine.amount_cents,
            JournalLine.balance_after_cents,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.ledger_account_id == ledger.id)
        .order_by(JournalLine.id)
    )
    money, formula = plain_cents_of_int, FORMULA_STARTS

    def text(value: str | None) -> str:
        return ("'" + value if value[0] in formula else value) if value else ""

    for rows in stream_batches(statement):
        yield [
            (
                entry_date,
                f"JE-{entry_id:06d}",
                text(description),
                text(counterparty),
                text(reference),
                money(amount) if amount > 0 else "",
                money(-amount) if amount < 0 else "",
                money(balance),
            )
            for entry_date, entry_id, description, counterparty, reference, amount, balance in rows
        ]
