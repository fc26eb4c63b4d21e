"""The monthly three-way reconciliation of a trust account (invariant 9).

At a statement's end date three figures must agree (worked out by
ledger/three_way.py from what is gathered here): the bank's balance adjusted
for what the bank has not seen yet (deposits in transit added, cheques not yet
cashed taken off), the trust journal's balance, and the sum of the client
ledgers. Outstanding items are the account's entries dated by then that no
statement line posted by then is matched to (an entry and its reversal that
both never reached the bank cancel out and are left out). Statement lines
matched to nothing (a bank fee, interest) are shown, to be booked or explained.

Signing stores the whole report (JSON and its SHA-256) and locks the period:
nothing can be dated on or before its end, in code and in the database.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.ledger.three_way import BankLine, OpenEntry, figures
from trustweb.models import (
    BankAccount,
    BankStatement,
    JournalEntry,
    LedgerAccount,
    Reconciliation,
    ReconciliationStatus,
    StatementLine,
    User,
)
from trustweb.refusals import ServiceError
from trustweb.services import audit, journal
from trustweb.services.journal import locked_through
from trustweb.services.ledger_reports import held_balances
from trustweb.services.statements import bank_amounts
from trustweb.services.trust import firm_today


def due_for(account: BankAccount, today: date) -> tuple[date | None, bool]:
    """Whether last month's reconciliation is still to be signed: (last signed period end or None, due)."""
    last = locked_through(account.id)
    return last, is_due(last, today)


def is_due(last: date | None, today: date) -> bool:
    """Whether, with periods signed through `last` (None: never), last month's reconciliation is still due."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return last is None or last < last_month_end


def three_way(statement: BankStatement) -> dict[str, Any]:
    """The reconciliation at the statement's end date, as plain data (what is shown, signed and stored): the
    inputs gathered here, the figures worked out by ledger/three_way.py."""
    account = statement.bank_account
    end = statement.period_end
    balances = held_balances(account, end)
    kinds = dict(
        db.session.execute(
            select(LedgerAccount.id, LedgerAccount.kind).where(LedgerAccount.bank_account_id == account.id)
        )
        .tuples()
        .all()
    )
    # Entries before the account's first statement are in that statement's opening balance: taken as cleared.
    since = db.session.scalar(
        select(func.min(BankStatement.period_start)).where(BankStatement.bank_account_id == account.id)
    )
    amounts = bank_amounts(account, start=since, end=end)
    # Cleared by the end: what a line of the period is matched to, if the entry is dated within the period too.
    seen = set(
        db.session.scalars(
            select(StatementLine.entry_id)
            .join(JournalEntry, JournalEntry.id == StatementLine.entry_id)
            .where(
                StatementLine.bank_account_id == account.id,
                StatementLine.posted_on <= end,
                JournalEntry.entry_date <= end,
            )
        )
    )
    open_ids = [entry_id for entry_id in amounts if entry_id not in seen and amounts[entry_id]]
    open_entries = [
        OpenEntry(
            entry_id=entry.id,
            number=entry.number,
            entry_date=entry.entry_date,
            description=entry.description,
            amount_cents=amounts[entry.id],
            cheque_number=entry.cheque_number,
            reverses_id=entry.reverses_id,
        )
        for entry in db.session.scalars(
            select(JournalEntry).where(JournalEntry.id.in_(open_ids)).order_by(JournalEntry.id)
        )
    ]
    # In the bank by the end but not in the journal by then: lines not matched, or matched to an entry booked after.
    bank_lines = [
        BankLine(
            line_id=line_id,
            posted_on=posted_on,
            description=description,
            amount_cents=amount,
            cheque_number=cheque_number,
            booked_on=entry_date,
        )
        for line_id, posted_on, description, cheque_number, amount, entry_date in db.session.execute(
            select(
                StatementLine.id,
                StatementLine.posted_on,
                StatementLine.description,
                StatementLine.cheque_number,
                StatementLine.amount_cents,
                JournalEntry.entry_date,
            )
            .outerjoin(JournalEntry, JournalEntry.id == StatementLine.entry_id)
            .where(
                StatementLine.bank_account_id == account.id,
                StatementLine.posted_on <= end,
                or_(StatementLine.entry_id.is_(None), JournalEntry.entry_date > end),
            )
            .order_by(StatementLine.posted_on, StatementLine.id)
        )
    ]
    return {
        "account": account.name,
        "account_id": account.id,
        "statement_id": statement.id,
        "period_start": statement.period_start.isoformat(),
        "period_end": end.isoformat(),
        **figures(
            end=end,
            statement_balance_cents=statement.ending_balance_cents,
            ledger_balances=[(kinds[ledger_id], balance) for ledger_id, balance in balances.items()],
            open_entries=open_entries,
            bank_lines=bank_lines,
        ),
    }


def sign(statement: BankStatement, explanation: str | None, user: User) -> Reconciliation:
    """Sign the reconciliation and lock the period; refused unless the three agree or each difference is explained."""
    explanation = (explanation or "").strip()
    account = statement.bank_account
    # One signer at a time per account, and no entry booked into the account meanwhile: the account row is the lock.
    journal.hold_account(account.id, journal.SIGNING)
    if statement.period_end > firm_today():
        raise ServiceError("A period that has not ended yet cannot be signed off.")
    locked = locked_through(account.id)
    if locked is not None and statement.period_end <= locked:
        raise ServiceError(f"{account.name} is already reconciled and signed off through {locked.isoformat()}.")
    # Months are signed in order: signing a later one would lock an earlier one that could then never be signed.
    earlier = db.session.scalar(
        select(BankStatement)
        .where(
            BankStatement.bank_account_id == account.id,
            BankStatement.period_end < statement.period_start,
            BankStatement.period_end > (locked or date.min),
            ~select(Reconciliation.id).where(Reconciliation.statement_id == BankStatement.id).exists(),
        )
        .order_by(BankStatement.period_end)
    )
    if earlier is not None:
        raise ServiceError(
            f"Sign off the statement to {earlier.period_end.isoformat()} first (or delete it, if it was a mistake): "
            "months are signed in order."
        )
    report = three_way(statement)
    if not report["balanced"]:
        currency = account.currency
        differences: list[str] = []
        if report["bank_vs_journal_cents"]:
            differences.append(
                f"adjusted bank and journal differ by {format_cents(report['bank_vs_journal_cents'], currency)}"
            )
        if report["journal_vs_clients_cents"]:
            differences.append(
                f"journal and client ledgers differ by {format_cents(report['journal_vs_clients_cents'], currency)}"
            )
        if len(explanation) < 10:
            raise ServiceError(
                "The three balances do not agree (" + "; ".join(differences) + "). Book what is missing, or explain "
                "each difference before signing."
            )
    report["explanation"] = explanation or None
    report["signed_by"] = user.name
    report["signed_on"] = firm_today().isoformat()
    text = json.dumps(report, sort_keys=True, separators=(",", ":"))
    reconciliation = Reconciliation(
        bank_account_id=account.id,
        statement_id=statement.id,
        period_end=statement.period_end,
        status=ReconciliationStatus.SIGNED,
        statement_balance_cents=report["statement_balance_cents"],
        adjusted_bank_cents=report["adjusted_bank_cents"],
        journal_cents=report["journal_cents"],
        clients_cents=report["clients_cents"],
        explanation=explanation or None,
        report_json=text,
        report_sha256=hashlib.sha256(text.encode()).hexdigest(),
        signed_by_id=user.id,
    )
    db.session.add(reconciliation)
    db.session.flush()
    audit.record(
        "reconciliation.signed",
        reconciliation,
        after={
            "period_end": statement.period_end,
            "balanced": report["balanced"],
            "report_sha256": reconciliation.report_sha256,
        },
        user=user,
    )
    db.session.commit()
    return reconciliation


def stored_report(reconciliation: Reconciliation) -> dict[str, Any]:
    """The report exactly as signed; a changed copy (its hash no longer matching) is refused."""
    if hashlib.sha256(reconciliation.report_json.encode()).hexdigest() != reconciliation.report_sha256:
        raise ServiceError("This signed report does not match its fingerprint; it has been tampered with.")
    return json.loads(reconciliation.report_json)


def statements_of(account: BankAccount) -> Sequence[BankStatement]:
    return db.session.scalars(
        select(BankStatement)
        .where(BankStatement.bank_account_id == account.id)
        .order_by(BankStatement.period_end.desc())
    ).all()


def history(account: BankAccount) -> Sequence[Reconciliation]:
    return db.session.scalars(
        select(Reconciliation)
        .where(Reconciliation.bank_account_id == account.id)
        .order_by(Reconciliation.period_end.desc())
    ).all()


def earlier_unmatched(statement: BankStatement) -> list[tuple[BankStatement, int]]:
    """[(statement, count)] of the account's earlier statements with lines still not matched: a bank item booked
    late is matched on its own statement's page, even once that one is signed."""
    rows = db.session.execute(
        select(BankStatement, func.count(StatementLine.id))
        .join(StatementLine, StatementLine.statement_id == BankStatement.id)
        .where(
            BankStatement.bank_account_id == statement.bank_account_id,
            BankStatement.period_end < statement.period_start,
            StatementLine.entry_id.is_(None),
        )
        .group_by(BankStatement.id)
        .order_by(BankStatement.period_end)
    ).all()
    return [(earlier, count) for earlier, count in rows]


def candidates(
    statement: BankStatement, lines: Sequence[StatementLine], limit: int = 20
) -> dict[int, list[JournalEntry]]:
    """{line id: entries a person might match it to}: same account, same bank amount, not matched, dated from
    120 days before to 31 days after the line, nearest first. One read of the bank ledger for all the lines."""
    if not lines:
        return {}
    amounts = bank_amounts(
        statement.bank_account,
        start=min(line.posted_on for line in lines) - timedelta(days=120),
        end=max(line.posted_on for line in lines) + timedelta(days=31),
        amounts={line.amount_cents for line in lines},
    )
    ids = list(amounts)
    taken = set(
        db.session.scalars(
            select(StatementLine.entry_id).where(
                StatementLine.bank_account_id == statement.bank_account_id, StatementLine.entry_id.is_not(None)
            )
        )
    )
    entries = db.session.scalars(select(JournalEntry).where(JournalEntry.id.in_([i for i in ids if i not in taken])))
    by_amount: dict[int, list[JournalEntry]] = {}
    for entry in entries:
        by_amount.setdefault(amounts[entry.id], []).append(entry)
    locked = locked_through(statement.bank_account_id)
    found: dict[int, list[JournalEntry]] = {}
    for line in lines:
        near = [
            entry
            for entry in by_amount.get(line.amount_cents, [])
            if -120 <= (entry.entry_date - line.posted_on).days <= 31
            # a line of a signed period only to an entry booked after it (statements._check_not_signed)
            and (locked is None or line.posted_on > locked or entry.entry_date > locked)
        ]
        near.sort(key=lambda entry: (abs((entry.entry_date - line.posted_on).days), entry.id))
        found[line.id] = near[:limit]
    return found
