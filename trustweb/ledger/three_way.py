"""The three-way reconciliation's figures, from plain data: what a bookkeeper checks at a statement's end date.

Three balances must agree. The bank's, adjusted for what the bank has not seen
yet: the statement's ending balance, plus deposits in transit, less cheques
and other payments not yet cashed. The trust journal's: the bank ledger's
balance. The clients': the sum of the client (and firm) ledgers. A statement
line the journal does not have by the end (a bank fee, interest, an item booked
late) is listed for a person to book or explain; it is not in any of the three.

services/reconciliation.py gathers the inputs by query; nothing here reads the
database.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trustweb.ledger.rules import HELD_KINDS, LedgerKind

# An item the bank has not shown for this long is flagged: a cheque never cashed, a deposit that went astray.
STALE_DAYS = 60


@dataclass(frozen=True)
class OpenEntry:
    """A journal entry of the account, dated by the end, that moved money in the bank and that no statement line
    posted by the end is matched to."""

    entry_id: int
    number: str
    entry_date: date
    description: str
    amount_cents: int  # its effect on the bank balance: + a deposit, - a cheque or other payment
    cheque_number: str | None = None
    reverses_id: int | None = None  # the entry it reverses, if it is a reversal


@dataclass(frozen=True)
class BankLine:
    """A statement line posted by the end that the journal does not have by then."""

    line_id: int
    posted_on: date
    description: str
    amount_cents: int
    cheque_number: str | None = None
    booked_on: date | None = None  # the date of the entry it is matched to, booked after the period


def outstanding(entries: Iterable[OpenEntry]) -> list[OpenEntry]:
    """The entries still outstanding: a mistake and its reversal that both never reached the bank cancel out."""
    left = {entry.entry_id: entry for entry in entries}
    for entry in list(left.values()):
        if entry.entry_id in left and entry.reverses_id in left:
            del left[entry.reverses_id]
            del left[entry.entry_id]
    return sorted(left.values(), key=lambda entry: (entry.entry_date, entry.entry_id))


def figures(
    *,
    end: date,
    statement_balance_cents: int,
    ledger_balances: Iterable[tuple[str, int]],
    open_entries: Iterable[OpenEntry],
    bank_lines: Iterable[BankLine],
) -> dict[str, Any]:
    """The report's figures and lists. ledger_balances: (kind, balance at the end) of each ledger of the trust
    account, balances as the firm reads them (what the bank holds, what is held for a client)."""
    journal = clients = shortfall = 0
    for kind, balance in ledger_balances:
        if kind == LedgerKind.BANK:
            journal += balance
        elif kind in HELD_KINDS:
            clients += balance
        elif kind == LedgerKind.SHORTFALL:
            shortfall += balance
    stale_before = end - timedelta(days=STALE_DAYS)
    items: list[dict[str, Any]] = [
        {
            "entry_id": entry.entry_id,
            "number": entry.number,
            "date": entry.entry_date.isoformat(),
            "description": entry.description,
            "cheque_number": entry.cheque_number or "",
            "amount_cents": entry.amount_cents,
            "stale": entry.entry_date < stale_before,
        }
        for entry in outstanding(open_entries)
    ]
    deposits = [item for item in items if item["amount_cents"] > 0]
    withdrawals = [item for item in items if item["amount_cents"] < 0]
    unmatched: list[dict[str, Any]] = [
        {
            "line_id": line.line_id,
            "date": line.posted_on.isoformat(),
            "description": line.description
            + (f" (booked {line.booked_on.isoformat()}, after the period)" if line.booked_on is not None else ""),
            "cheque_number": line.cheque_number or "",
            "amount_cents": line.amount_cents,
        }
        for line in bank_lines
    ]
    in_transit = sum(item["amount_cents"] for item in deposits)
    uncashed = -sum(item["amount_cents"] for item in withdrawals)
    adjusted = statement_balance_cents + in_transit - uncashed
    return {
        "statement_balance_cents": statement_balance_cents,
        "deposits_in_transit_cents": in_transit,
        "outstanding_withdrawals_cents": uncashed,
        "adjusted_bank_cents": adjusted,
        "journal_cents": journal,
        "clients_cents": clients,
        "owed_by_firm_cents": -shortfall,
        "bank_vs_journal_cents": adjusted - journal,
        "journal_vs_clients_cents": journal - clients,
        "balanced": adjusted == journal == clients,
        "deposits_in_transit": deposits,
        "outstanding_withdrawals": withdrawals,
        "unmatched_lines": unmatched,
        "unmatched_lines_cents": sum(item["amount_cents"] for item in unmatched),
        "stale_items": sum(1 for item in items if item["stale"]),
    }
