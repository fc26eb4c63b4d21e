"""Evergreen retainers: a matter that falls below its agreed minimum says so on its page and the dashboard, and in
the "below minimum" report, with the top-up that restores its target; it stops saying so once money comes in."""

import pytest
from sqlalchemy import update

from tests.conftest import signed_in
from tests.factories import gen_account, gen_trust_setup, gen_user
from trustweb.extensions import db
from trustweb.models import BankAccount, Matter
from trustweb.services.trust import Holder, firm_today, record_deposit, record_disbursement


@pytest.fixture
def firm(app):
    """Client A's first matter agreed a $2,000.00 minimum and a $5,000.00 target; it holds $2,500.00."""
    with app.app_context():
        setup = gen_trust_setup()
        db.session.execute(
            update(Matter)
            .where(Matter.id == setup.matter_a1)
            .values(evergreen_minimum_cents=200_000, evergreen_target_cents=500_000)
        )
        db.session.commit()
        deposit(setup, 250_000)
        return setup


def deposit(setup, cents, account=None, matter=None):
    record_deposit(
        account=db.session.get(BankAccount, account or setup.account),
        holder=Holder(setup.client_a, matter or setup.matter_a1),
        amount_cents=cents,
        entry_date=firm_today(),
        method="wire",
        payer="Ada Archer",
    )


def spend(setup, cents):
    record_disbursement(
        account=db.session.get(BankAccount, setup.account),
        holder=Holder(setup.client_a, setup.matter_a1),
        amount_cents=cents,
        entry_date=firm_today(),
        payee="Elm St Title Co.",
        description="Title search",
        method="cheque",
        reference="1042",
    )


def pages(app, setup):
    lawyer = signed_in(app, setup.lawyer)
    return (
        lawyer.get(f"/matters/{setup.matter_a1}").get_data(as_text=True),
        lawyer.get("/").get_data(as_text=True),
        lawyer.get("/reports/below-minimum").get_data(as_text=True),
    )


def test_a_matter_that_falls_below_its_minimum_says_so_everywhere(app, firm):
    matter_page, dashboard, report = pages(app, firm)
    assert "Below the evergreen minimum" not in matter_page and 'id="below-minimum"' not in dashboard
    assert "Every open matter with an evergreen minimum holds at least its minimum." in report
    with app.app_context():
        spend(firm, 61_287)  # $2,500.00 - $612.87 = $1,887.13, the issue's own figure
    matter_page, dashboard, report = pages(app, firm)
    assert "This matter holds $1,887.13 in trust, $112.87 less than its minimum of $2,000.00." in matter_page
    assert "Topping up to the target of $5,000.00 takes $3,112.87." in matter_page
    assert "amount=3112.87" in matter_page and "Request a top-up of $3,112.87" in matter_page
    assert 'id="below-minimum"' in dashboard and "$3,112.87" in dashboard
    for figure in ("$1,887.13", "$112.87", "$3,112.87", "Ada Archer"):
        assert figure in report, figure


def test_money_coming_in_ends_the_alert(app, firm):
    with app.app_context():
        spend(firm, 61_287)
        deposit(firm, 20_000)  # back to $2,087.13
    matter_page, dashboard, _ = pages(app, firm)
    assert "Below the evergreen minimum" not in matter_page and 'id="below-minimum"' not in dashboard


def test_money_in_two_trust_accounts_counts_together(app, firm):
    with app.app_context():
        spend(firm, 61_287)
        other = gen_account("Second Trust").id
        deposit(firm, 15_000, account=other)  # $1,887.13 + $150.00 = $2,037.13
    matter_page, _, _ = pages(app, firm)
    assert "Below the evergreen minimum" not in matter_page


def test_without_a_target_the_top_up_restores_the_minimum_and_a_closed_matter_is_left_out(app, firm):
    with app.app_context():
        db.session.execute(update(Matter).where(Matter.id == firm.matter_a1).values(evergreen_target_cents=None))
        db.session.commit()
        spend(firm, 61_287)
    matter_page, _, report = pages(app, firm)
    assert "Request a top-up of $112.87" in matter_page
    with app.app_context():
        db.session.execute(update(Matter).where(Matter.id == firm.matter_a1).values(status="closed"))
        db.session.commit()
    matter_page, dashboard, report = pages(app, firm)
    assert "Below the evergreen minimum" not in matter_page and "$1,887.13" not in report


def test_the_report_narrows_to_a_lawyer_and_downloads_as_csv(app, firm):
    with app.app_context():
        spend(firm, 61_287)
        other = gen_user("lawyer").id
    lawyer = signed_in(app, firm.lawyer)
    csv = lawyer.get("/reports/below-minimum?format=csv").get_data(as_text=True)
    assert "Matters below their evergreen minimum" in csv and ",1887.13,112.87,3112.87" in csv
    mine = lawyer.get(f"/reports/below-minimum?lawyer={firm.lawyer}").get_data(as_text=True)
    theirs = lawyer.get(f"/reports/below-minimum?lawyer={other}").get_data(as_text=True)
    assert "$1,887.13" in mine and "$1,887.13" not in theirs
