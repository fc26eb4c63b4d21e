"""The Dashboard's figures: the firm at a glance and the signed-in lawyer's own open matters, read only."""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select

from trustweb.extensions import Model, db
from trustweb.models import BankAccount, Contact, LedgerAccount, Matter, MatterStatus
from trustweb.services import reconciliation, reports


def _count(model: type[Model], *where: ColumnElement[bool]) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def at_a_glance(lawyer_id: int, today: date) -> dict[str, Any]:
    """What the Dashboard shows a lawyer on a day, by name: counts, what each trust account holds, matters,
    shortfalls the firm must replace, money asked for and received, and reconciliations due."""
    my_matters = db.session.scalars(
        select(Matter)
        .where(Matter.lawyer_id == lawyer_id, Matter.status == MatterStatus.OPEN)
        .order_by(Matter.opened_on.desc())
        .limit(10)
    ).all()
    recent_matters = db.session.scalars(
        select(Matter).order_by(Matter.created_at.desc(), Matter.id.desc()).limit(5)
    ).all()
    trust_accounts = db.session.execute(
        select(BankAccount, LedgerAccount.balance_cents)
        .outerjoin(LedgerAccount, (LedgerAccount.bank_account_id == BankAccount.id) & (LedgerAccount.kind == "bank"))
        .where(BankAccount.kind == "trust", BankAccount.active)
        .order_by(BankAccount.name)
    ).all()
    return {
        "open_matters": _count(Matter, Matter.status == MatterStatus.OPEN),
        "contacts": _count(Contact),
        "trust_accounts": trust_accounts,
        "my_matters": my_matters,
        "recent_matters": recent_matters,
        "shortfalls": db.session.execute(
            select(BankAccount, LedgerAccount.balance_cents)
            .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
            .where(LedgerAccount.kind == "shortfall", LedgerAccount.balance_cents < 0)
            .order_by(BankAccount.name)
        ).all(),
        "money": reports.dashboard_figures(today),
        "reconciliations": [(account, *reconciliation.due_for(account, today)) for account, _ in trust_accounts],
    }
