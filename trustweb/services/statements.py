"""Bank statements: imported from the bank's CSV (columns chosen on screen, remembered per account) or OFX
file, or typed in; and their lines matched to the trust journal, automatically or by hand.

An import is all or nothing: the whole file is read and checked first (by
trustweb/bankfiles, whose StatementFileError names the first bad row), before
anything is stored. The same file (by its SHA-256) or a period already imported
for the account is refused as a duplicate. A line is one movement on the bank's
side (+ in, - out) and is matched to at most one journal entry of the account,
with the same effect on the bank balance.
"""

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError

from trustweb.bankfiles import checks, csvfile, ofxfile
from trustweb.extensions import db
from trustweb.ledger.keys import bank_key
from trustweb.ledger.money import format_cents
from trustweb.models import BankAccount, BankStatement, JournalEntry, JournalLine, LedgerAccount, StatementLine, User
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError
from trustweb.services import audit, journal
from trustweb.services.journal import locked_through
from trustweb.services.trust import EARLIEST_DATE, firm_time, firm_today

# How far a journal entry's date may be from the bank's posting date and still be matched automatically:
# deposits are booked a little before the bank credits them, cheques may take weeks to be cashed.
DEPOSIT_WINDOW = (10, 3)  # days before, days after
WITHDRAWAL_WINDOW = (60, 3)
LONGEST_PERIOD = timedelta(days=366)  # a statement is of a month or a quarter; a year at most


def _check_account(account: BankAccount | None) -> BankAccount:
    if account is None or account.kind != "trust":
        raise ServiceError("Choose the trust account the statement is for.")
    return account


def _check_period(account: BankAccount, start: date, end: date) -> None:
    """A statement's period: in order, ended by today, a year at most, after the account's signed-off periods."""
    if start > end:
        raise ServiceError("The statement starts after it ends.")
    if start < EARLIEST_DATE:
        raise ServiceError(f"The statement starts before {EARLIEST_DATE.isoformat()}; check its dates.")
    # A day's grace: an OFX file may end on the day it was downloaded, as the bank's clock (UTC) wrote it.
    if end > firm_today() + timedelta(days=1):
        raise ServiceError("The statement ends after today; a bank's statement is of days that have passed.")
    if end - start > LONGEST_PERIOD:
        raise ServiceError("The statement covers more than a year; import one month (or quarter) at a time.")
    locked = locked_through(account.id)
    if locked is not None and start <= locked:
        raise ServiceError(
            f"{account.name} is reconciled and signed off through {locked.isoformat()}; a new statement starts after "
            "that day. Nothing was imported."
        )


def _refuse_duplicate(account: BankAccount, digest: str | None, start: date, end: date) -> None:
    if digest:
        earlier = db.session.scalar(
            select(BankStatement).where(
                BankStatement.bank_account_id == account.id, BankStatement.file_sha256 == digest
            )
        )
        if earlier is not None:
            raise ServiceError(
                f"This file was already imported on {firm_time(earlier.created_at).date().isoformat()} "
                f"(statement to {earlier.period_end.isoformat()}); nothing was imported again."
            )
    overlap = db.session.scalar(
        select(BankStatement).where(
            BankStatement.bank_account_id == account.id,
            BankStatement.period_start <= end,
            BankStatement.period_end >= start,
        )
    )
    if overlap is not None:
        raise ServiceError(
            f"A statement for {overlap.period_start.isoformat()} to {overlap.period_end.isoformat()} is already "
            f"imported for {account.name}; this one overlaps it. Nothing was imported."
        )


def import_statement(
    account: BankAccount | None,
    *,
    source: str,
    filename: str | None,
    data: bytes,
    user: User,
    mapping: dict[str, Any] | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    ending_balance_cents: int | None = None,
) -> tuple[BankStatement, int]:
    """Read the whole file, refuse duplicates, then store the statement and its lines in one transaction."""
    account = _check_account(account)
    # The account's row first, before any check: two imports (or an import and a sign-off) of the account run one
    # after the other, and the second sees what the first did.
    journal.hold_account(account.id, journal.STATEMENTS)
    remembered = None
    if source == "csv":
        reading = csvfile.read(data, mapping or {})
        parsed, remembered = reading.statement, reading.mapping
    elif source == "ofx":
        parsed = ofxfile.parse(data, account.account_last4)
    else:
        raise ServiceError("Choose the kind of file: CSV or OFX.")
    checks.check_account(parsed, name=account.name, account_last4=account.account_last4, currency=account.currency)
    dates = [line.posted_on for line in parsed.lines]
    start = period_start or parsed.period_start or min(dates, default=period_end)
    end = period_end or parsed.period_end or max(dates, default=None)
    if period_start is period_end is None and start and end and end - start > LONGEST_PERIOD and dates:
        # A download of everything "since 2000" to the day it was made: the file says nothing moved outside its
        # lines, so the period of its lines is a statement with the same ending balance.
        start, end = min(dates), max(dates)
    balance = ending_balance_cents if ending_balance_cents is not None else parsed.ending_balance_cents
    if balance is None:
        if source == "ofx":
            raise ServiceError(
                "The file does not give the statement's ending balance: enter it from the bank's statement and "
                "attach the file again."
            )
        raise ServiceError("Enter the statement's ending balance.")
    if start is None or end is None:
        raise ServiceError("Enter the statement's end date.")
    if any(day > end for day in dates):
        raise ServiceError(f"The file has lines after the statement's end date {end.isoformat()}.")
    start = min([start, *dates])
    _check_period(account, start, end)
    digest = hashlib.sha256(data).hexdigest()
    _refuse_duplicate(account, digest, start, end)
    references = [line.bank_reference for line in parsed.lines if line.bank_reference]
    if len(set(references)) != len(references) or any(
        db.session.scalar(
            select(func.count()).where(
                StatementLine.bank_account_id == account.id,
                StatementLine.bank_reference.in_(references[at : at + 1_000]),
            )
        )
        for at in range(0, len(references), 1_000)
    ):
        raise ServiceError("Some of these transactions were already imported (the bank's ids repeat).")
    statement = BankStatement(
        bank_account_id=account.id,
        source=source,
        filename=(filename or "")[:200] or None,
        file_sha256=digest,
        period_start=start,
        period_end=end,
        ending_balance_cents=balance,
        line_count=len(parsed.lines),
        imported_by_id=user.id,
    )
    db.session.add(statement)
    db.session.flush()
    if parsed.lines:  # an OFX statement of a month without movements has none
        db.session.execute(
            StatementLine.__table__.insert(),
            [
                {
                    "statement_id": statement.id,
                    "bank_account_id": account.id,
                    "posted_on": line.posted_on,
                    "amount_cents": line.amount_cents,
                    "description": line.description,
                    "cheque_number": line.cheque_number,
                    "bank_reference": line.bank_reference,
                }
                for line in parsed.lines
            ],
        )
    if remembered is not None:  # the columns and the date format the file was read in, for the bank's next file
        account.csv_mapping = json.dumps(remembered)
    audit.record(
        "statement.imported",
        statement,
        after={"source": source, "lines": len(parsed.lines), "period_end": end, "ending_balance_cents": balance},
        user=user,
    )
    matched = auto_match(account, user)
    db.session.commit()
    return statement, matched


def type_statement(
    account: BankAccount | None, *, period_start: date, period_end: date, ending_balance_cents: int, user: User
) -> BankStatement:
    """A statement typed from paper: its dates and ending balance; its lines are ticked off the journal."""
    account = _check_account(account)
    journal.hold_account(account.id, journal.STATEMENTS)  # before the checks, as for an import
    _check_period(account, period_start, period_end)
    _refuse_duplicate(account, None, period_start, period_end)
    statement = BankStatement(
        bank_account_id=account.id,
        source="typed",
        period_start=period_start,
        period_end=period_end,
        ending_balance_cents=ending_balance_cents,
        imported_by_id=user.id,
    )
    db.session.add(statement)
    db.session.flush()
    audit.record(
        "statement.typed",
        statement,
        after={"period_end": period_end, "ending_balance_cents": ending_balance_cents},
        user=user,
    )
    db.session.commit()
    return statement


def saved_mapping(account: BankAccount) -> dict[str, Any]:
    try:
        return json.loads(account.csv_mapping) if account.csv_mapping else {}
    except ValueError:
        return {}


def bank_amounts(
    account: BankAccount,
    entry_ids: Sequence[int] | None = None,
    start: date | None = None,
    end: date | None = None,
    amounts: Collection[int] | None = None,
) -> dict[int, int]:
    """{entry id: its effect on the bank balance} for the account's entries that moved money (in the date range,
    by one of the amounts, when given)."""
    # The bank ledger's id as a value, not a subquery: PostgreSQL then plans for the one ledger that holds half of
    # all lines (a subquery's row estimate is an average ledger's, and it walked every bank line: 0.7 s, not 0.2).
    bank = db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.key == bank_key(account.id)))
    if bank is None:
        return {}
    # From the account's entries in the date range (ix_journal_entry_account_date) to their bank line.
    statement = (
        select(JournalEntry.id, JournalLine.amount_cents)
        .join(JournalLine, (JournalLine.entry_id == JournalEntry.id) & (JournalLine.ledger_account_id == bank))
        .where(JournalEntry.bank_account_id == account.id)
    )
    if entry_ids is not None:
        statement = statement.where(JournalEntry.id.in_(entry_ids))
    if start is not None:
        statement = statement.where(JournalEntry.entry_date >= start)
    if end is not None:
        statement = statement.where(JournalEntry.entry_date <= end)
    if amounts is not None:
        statement = statement.where(JournalLine.amount_cents.in_(list(amounts)))
    return dict(db.session.execute(statement).tuples().all())


def auto_match(account: BankAccount, user: User | None = None) -> int:
    """Match each unmatched line, in date order, to the nearest entry with the same amount (and cheque number, when
    both have one) dated within the window; a line with no candidate is left for a person. A line of a signed-off
    period is only matched to an entry dated after it (see _check_not_signed). No commit."""
    journal.hold_account(account.id, journal.STATEMENTS)
    locked = locked_through(account.id)
    lines = db.session.scalars(
        select(StatementLine)
        .where(StatementLine.bank_account_id == account.id, StatementLine.entry_id.is_(None))
        .order_by(StatementLine.posted_on, StatementLine.id)
    ).all()
    if not lines:
        return 0
    start = min(line.posted_on for line in lines) - timedelta(days=WITHDRAWAL_WINDOW[0])
    end = max(line.posted_on for line in lines) + timedelta(days=DEPOSIT_WINDOW[1])
    amounts = bank_amounts(account, start=start, end=end)
    taken = set(
        db.session.scalars(
            select(StatementLine.entry_id).where(
                StatementLine.bank_account_id == account.id, StatementLine.entry_id.is_not(None)
            )
        )
    )
    entries = {
        entry.id: entry
        for entry in db.session.scalars(select(JournalEntry).where(JournalEntry.id.in_(list(amounts))))
        if entry.id not in taken
    }
    by_amount: dict[int, list[JournalEntry]] = {}
    for entry in entries.values():
        by_amount.setdefault(amounts[entry.id], []).append(entry)
    matched = 0
    for line in lines:
        before, after = DEPOSIT_WINDOW if line.amount_cents > 0 else WITHDRAWAL_WINDOW
        pool = by_amount.get(line.amount_cents, [])
        candidates = [
            entry
            for entry in pool
            if line.posted_on - timedelta(days=before) <= entry.entry_date <= line.posted_on + timedelta(days=after)
        ]
        if locked is not None and line.posted_on <= locked:
            candidates = [entry for entry in candidates if entry.entry_date > locked]
        if line.cheque_number:
            by_cheque = [entry for entry in candidates if entry.cheque_number == line.cheque_number]
            candidates = by_cheque or candidates
        if not candidates:
            continue
        # Nearest first; as near before as after, the one booked before: a bank posts what the firm recorded, a
        # day or two later (equal amounts on the same day are all one to the bank).
        posted = line.posted_on
        best = min(candidates, key=lambda e: (abs((e.entry_date - posted).days), e.entry_date > posted, e.id))
        line.entry_id, line.matched_at = best.id, utcnow()
        line.matched_by_id = user.id if user else None
        pool.remove(best)
        matched += 1
    db.session.flush()
    if matched:
        audit.record("statement.auto_matched", account, after={"lines": matched}, user=user)
    return matched


def match(line: StatementLine, entry: JournalEntry | None, user: User) -> StatementLine:
    """A person matches a statement line to a journal entry: same account, same effect on the bank, both free."""
    _take_turn(line)
    if line.entry_id is not None:
        raise ServiceError("This statement line is already matched; unmatch it first.")
    if entry is None or entry.bank_account_id != line.bank_account_id:
        raise ServiceError("Choose an entry of the same trust account.")
    _check_not_signed(line.bank_account_id, line.posted_on, entry.entry_date)
    account = line.statement.bank_account
    amount = bank_amounts(account, [entry.id]).get(entry.id)
    if amount != line.amount_cents:
        shown = format_cents(amount, account.currency) if amount is not None else "nothing"
        raise ServiceError(
            f"{entry.number} moved {shown} in the bank; "
            f"the statement line is {format_cents(line.amount_cents, account.currency)}."
        )
    if db.session.scalar(select(StatementLine.id).where(StatementLine.entry_id == entry.id)):
        raise ServiceError(f"{entry.number} is already matched to another statement line.")
    line.entry_id, line.matched_by_id, line.matched_at = entry.id, user.id, utcnow()
    audit.record("statement.matched", line, after={"entry_id": entry.id}, user=user)
    db.session.commit()
    return line


def unmatch(line: StatementLine, user: User) -> StatementLine:
    _take_turn(line)
    if line.entry_id is None:
        raise ServiceError("This statement line is not matched.")
    _check_not_signed(line.bank_account_id, line.posted_on, line.entry.entry_date)
    before = line.entry_id
    line.entry_id = line.matched_by_id = line.matched_at = None
    audit.record("statement.unmatched", line, before={"entry_id": before}, user=user)
    db.session.commit()
    return line


def tick(statement: BankStatement, entry: JournalEntry | None, user: User) -> StatementLine:
    """On a typed statement, the bookkeeper ticks a journal entry seen on the paper statement: a line for it."""
    if statement.source != "typed":
        raise ServiceError("Only a typed statement's lines are ticked off the journal; match the imported lines.")
    _take_turn(statement)
    _check_not_signed(statement.bank_account_id, statement.period_end)
    if entry is None or entry.bank_account_id != statement.bank_account_id:
        raise ServiceError("Choose an entry of the same trust account.")
    if entry.entry_date > statement.period_end:
        raise ServiceError(
            f"{entry.number} is dated {entry.entry_date.isoformat()}, after this statement ends; it belongs on a "
            "later one."
        )
    amount = bank_amounts(statement.bank_account, [entry.id]).get(entry.id)
    if not amount:
        raise ServiceError(f"{entry.number} did not move money in the bank.")
    if db.session.scalar(select(StatementLine.id).where(StatementLine.entry_id == entry.id)):
        raise ServiceError(f"{entry.number} is already on a statement.")
    line = StatementLine(
        statement_id=statement.id,
        bank_account_id=statement.bank_account_id,
        posted_on=min(max(entry.entry_date, statement.period_start), statement.period_end),
        amount_cents=amount,
        description=entry.description[:300],
        cheque_number=entry.cheque_number,
        entry_id=entry.id,
        matched_by_id=user.id,
        matched_at=utcnow(),
    )
    db.session.add(line)
    statement.line_count += 1
    db.session.flush()
    audit.record("statement.ticked", line, after={"entry_id": entry.id}, user=user)
    db.session.commit()
    return line


def delete_statement(statement: BankStatement, user: User) -> None:
    """Take back a statement imported or typed by mistake (the wrong file, a mistyped balance or period): its lines
    and their matches go, the audit trail keeps what it was. Refused once it is signed, or inside a signed period."""
    from trustweb.models import Reconciliation

    _take_turn(statement)
    if db.session.scalar(select(Reconciliation.id).where(Reconciliation.statement_id == statement.id)):
        raise ServiceError("This statement is reconciled and signed off; it stays as it was signed.")
    _check_not_signed(statement.bank_account_id, statement.period_start)
    before = {
        "source": statement.source,
        "filename": statement.filename,
        "period_start": statement.period_start,
        "period_end": statement.period_end,
        "ending_balance_cents": statement.ending_balance_cents,
        "lines": statement.line_count,
        "matched": db.session.scalar(
            select(func.count()).where(StatementLine.statement_id == statement.id, StatementLine.entry_id.is_not(None))
        ),
        "file_sha256": statement.file_sha256,
    }
    audit.record("statement.deleted", statement, before=before, user=user)
    db.session.execute(StatementLine.__table__.delete().where(StatementLine.statement_id == statement.id))
    db.session.delete(statement)
    db.session.commit()


def _take_turn(row: StatementLine | BankStatement) -> None:
    """The account's row first, then the row afresh: two bookkeepers matching the same entry, or a match and a
    sign-off, run one after the other and each sees what the other did."""
    journal.hold_account(row.bank_account_id, journal.STATEMENTS)
    try:
        db.session.refresh(row)
    except InvalidRequestError:  # deleted by someone else meanwhile
        raise ServiceError("This statement was deleted meanwhile; open the account's statements again.") from None


def _check_not_signed(bank_account_id: int, day: date, entry_day: date | None = None) -> None:
    """A signed report counted a line of its period matched only to an entry dated within it: such a match stays.
    A line the report counted as not in the journal may still be matched to (or unmatched from) an entry booked
    after the period: that changes nothing the report counted."""
    locked = locked_through(bank_account_id)
    if locked is not None and day <= locked and (entry_day is None or entry_day <= locked):
        raise ServiceError(f"This line is in a period reconciled and signed through {locked.isoformat()}.")
