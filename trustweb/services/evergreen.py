"""Evergreen retainers: a matter's minimum and target trust balance, and the matters that have fallen below.

A matter is below its minimum when what its client ledgers hold (in every trust account of the firm's currency)
is less than the minimum it was given. The minimum and the target are amounts in the firm's currency: money held
for the matter in a trust account of another currency is not added to them (cents of two currencies are not the
same money), and a top-up is asked into a trust account of the firm's currency. The top-up asked for is what
brings it back to the target (or, with no target, to the minimum).
Closed matters are left out: nothing more is spent on them.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings, LedgerAccount, Matter, MatterStatus, User
from trustweb.services.reports import Column, Filters, Report, ReportRow


@dataclass(frozen=True)
class Evergreen:
    """A matter's evergreen position: what it holds against its minimum and target."""

    minimum_cents: int
    target_cents: int | None
    held_cents: int

    @property
    def below_minimum(self) -> bool:
        return self.held_cents < self.minimum_cents

    @property
    def short_cents(self) -> int:
        """How far below the minimum the matter is (0 when it is not)."""
        return max(0, self.minimum_cents - self.held_cents)

    @property
    def top_up_cents(self) -> int:
        """What to ask for: back to the target, or to the minimum when there is no target."""
        goal = self.target_cents if self.target_cents is not None else self.minimum_cents
        return max(0, goal - self.held_cents)


def held_in_trust() -> Any:
    """What a matter's client ledgers hold, in every trust account of the firm's currency: a correlated subquery
    on Matter."""
    return (
        select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0))
        .join(BankAccount, BankAccount.id == LedgerAccount.bank_account_id)
        .where(
            LedgerAccount.kind == "client",
            LedgerAccount.matter_id == Matter.id,
            BankAccount.currency == FirmSettings.get().currency,
        )
        .scalar_subquery()
    )


def of(matter: Matter) -> Evergreen | None:
    """The matter's evergreen position, or None when it has no minimum."""
    if matter.evergreen_minimum_cents is None:
        return None
    held = db.session.scalar(select(held_in_trust()).where(Matter.id == matter.id))
    return Evergreen(matter.evergreen_minimum_cents, matter.evergreen_target_cents, int(held or 0))


def below_minimum(lawyer: User | None = None) -> Select[tuple[Matter, Any]]:
    """Open matters holding less than their evergreen minimum, furthest below first: (matter, held)."""
    held = held_in_trust()
    statement = (
        select(Matter, held)
        .where(
            Matter.status == MatterStatus.OPEN,
            Matter.evergreen_minimum_cents.is_not(None),
            held < Matter.evergreen_minimum_cents,
        )
        .options(joinedload(Matter.client, innerjoin=True), joinedload(Matter.lawyer, innerjoin=True))
        .order_by((Matter.evergreen_minimum_cents - held).desc(), Matter.number)
    )
    if lawyer is not None:
        statement = statement.where(Matter.lawyer_id == lawyer.id)
    return statement


def positions(statement: Select[tuple[Matter, Any]]) -> list[tuple[Matter, Evergreen]]:
    """Each matter of a below_minimum() query with its position."""
    return [
        (matter, Evergreen(matter.evergreen_minimum_cents or 0, matter.evergreen_target_cents, int(held)))
        for matter, held in db.session.execute(statement)
    ]


def report(filters: Filters, today: date) -> Report:
    """Matters below their evergreen minimum (of one lawyer, if asked), with what each holds and the top-up that
    restores its target."""
    columns = [
        Column("matter", "Matter"),
        Column("description", "Description"),
        Column("client", "Client"),
        Column("lawyer", "Lawyer"),
        Column("minimum", "Minimum", "money"),
        Column("target", "Target", "money"),
        Column("held", "Held in trust", "money"),
        Column("short", "Below minimum by", "money"),
        Column("top_up", "Top-up to target", "money"),
    ]
    rows: list[ReportRow] = []
    totals = {"held": 0, "short": 0, "top_up": 0}
    for matter, position in positions(below_minimum(filters.lawyer)):
        row = {
            "matter": matter.number,
            "description": matter.description,
            "client": matter.client.name,
            "lawyer": matter.lawyer.name,
            "minimum": position.minimum_cents,
            "target": position.target_cents,
            "held": position.held_cents,
            "short": position.short_cents,
            "top_up": position.top_up_cents,
            "_id": matter.id,
        }
        rows.append(row)
        for key in totals:
            totals[key] += row[key]
    summary = [("Matters below their minimum", len(rows), "number"), ("Top-ups to ask for", totals["top_up"], "money")]
    note = None if rows else "Every open matter with an evergreen minimum holds at least its minimum."
    return Report("below-minimum", "Matters below their evergreen minimum", columns, rows, totals, summary, note=note)
