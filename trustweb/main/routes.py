from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select

from trustweb.auth.permissions import requires
from trustweb.extensions import db
from trustweb.main import bp
from trustweb.models import BankAccount, Contact, LedgerAccount, Matter
from trustweb.services import reconciliation, reports
from trustweb.services.trust import firm_today
from trustweb.trust.forms import ReplaceShortfallForm


@bp.get("/")
@requires("view")
def dashboard():
    """The firm at a glance, and the signed-in lawyer's own open matters."""
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    my_matters = db.session.scalars(
        select(Matter)
        .where(Matter.lawyer_id == current_user.id, Matter.status == "open")
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
    return render_template(
        "main/dashboard.html",
        open_matters=count(Matter, Matter.status == "open"),
        contacts=count(Contact),
        trust_accounts=trust_accounts,
        my_matters=my_matters,
        recent_matters=recent_matters,
        shortfalls=db.session.execute(
            select(BankAccount, LedgerAccount.balance_cents)
            .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
            .where(LedgerAccount.kind == "shortfall", LedgerAccount.balance_cents < 0)
            .order_by(BankAccount.name)
        ).all(),
        replace_form=ReplaceShortfallForm(formdata=None),
        today=firm_today().isoformat(),
        money=reports.dashboard_figures(firm_today()),
        reconciliations=[(account, *reconciliation.due_for(account, firm_today())) for account, _ in trust_accounts],
    )
