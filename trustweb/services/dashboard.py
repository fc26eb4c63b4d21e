"""The Dashboard's figures: the firm at a glance and the signed-in lawyer's own open matters, read only.

A fixed number of SELECTs whatever the firm's size: what the page shows of each matter is loaded with it, and
each trust account comes with its balance and its last signed reconciliation.
"""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import Model, db
from trustweb.models import BankAccount, Contact, LedgerAccount, Matter, MatterStatus, Reconciliation
from trustweb.services import evergreen, reconciliation, reports


def _count(model: type[Model], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def at_a_glance(lawyer_id: int, today: date) -> dict[str, Any]:
    """What the Dashboard shows a lawyer on a day, by name: counts, what each trust account holds, matters,
    shortfalls the firm must replace, matters below their evergreen minimum, money asked for and received, and
    reconciliations due."""
    my_matters = db.session.scalars(
        select(Matter)
        .where(Matter.lawyer_id == lawyer_id, Matter.status == MatterStatus.OPEN)
        .options(joinedload(Matter.client, innerjoin=True))
        .order_by(Matter.opened_on.desc())
        .limit(10)
    ).all()
    recent_matters = db.session.scalars(
        select(Matter)
        .options(joinedload(Matter.lawyer, innerjoin=True))
        .order_by(Matter.created_at.desc(), Matter.id.desc())
        .limit(5)
    ).all()
    reconciled_through = (
        select(func.max(Reconciliation.period_end))
        .where(Reconciliation.bank_account_id == BankAccount.id)
        .scalar_subquery()
    )
    trust_accounts = db.session.execute(
        select(BankAccount, LedgerAccount.balance_cents, reconciled_through)
        .outerjoin(LedgerAccount, (LedgerAccount.bank_account_id == BankAccount.id) & (LedgerAccount.kind == "bank"))
        .where(BankAccount.kind == "trust", BankAccount.active)
        .order_by(BankAccount.name)
    ).all()
    open_matters, contacts = db.session.execute(
        select(_count(Matter, Matter.status == MatterStatus.OPEN), _count(Contact))
    ).one()
    return {
        "open_matters": open_matters,
        "contacts": contacts,
        "trust_accounts": [(account, balance) for account, balance, _ in trust_accounts],
        "my_matters": my_matters,
        "recent_matters": recent_matters,
        "shortfalls": db.session.execute(
            select(BankAccount, LedgerAccount.balance_cents)
            .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
            .where(LedgerAccount.kind == "shortfall", LedgerAccount.balance_cents < 0)
            .order_by(BankAccount.name)
        ).all(),
        "money": reports.dashboard_figures(today),
        # The ten furthest below their evergreen minimum; an eleventh says the report has more.
        "below_minimum": evergreen.positions(evergreen.below_minimum().limit(11)),
        "reconciliations": [(account, last, reconciliation.is_due(last, today)) for account, _, last in trust_accounts],
    }
