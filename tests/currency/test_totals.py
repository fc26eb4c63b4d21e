"""No sum adds two currencies: the dashboard, the lists and the reports give one figure per currency."""

import re

import pytest

from tests.conftest import signed_in
from tests.currency.steps import BARE_DOLLARS, gen_request, gen_two_currencies, pay_by_card
from tests.dates import days_ago
from trustweb.extensions import db
from trustweb.models import BankAccount, Matter, MatterStatus
from trustweb.refusals import ServiceError
from trustweb.services.clients import set_matter_status
from trustweb.services.trust import Holder, firm_today, record_deposit

USD, CAD = "$1,000.00", "CA$250.00"
SUM = "1,250.00"  # what adding the two would show, in any currency


@pytest.fixture
def firm(app):
    """A USD request for $1,000.00 and a CAD one for CA$250.00, both open and overdue, and both paid once."""
    with app.app_context():
        firm = gen_two_currencies()
        _, usd_path = gen_request(firm, firm.usd_trust, 100_000)
        _, cad_path = gen_request(firm, firm.cad_trust, 25_000)
        gen_request(firm, firm.usd_trust, 100_000, issued_on=days_ago(20), due_on=days_ago(3))
        gen_request(firm, firm.cad_trust, 25_000, issued_on=days_ago(20), due_on=days_ago(3))
    payer = app.test_client()
    assert pay_by_card(payer, usd_path, "1000.00").status_code == 303
    assert pay_by_card(payer, cad_path, "250.00").status_code == 303
    return firm


def staff_page(app, firm, path):
    response = signed_in(app, firm.lawyer).get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def assert_apart(page, usd=USD, cad=CAD):
    assert usd in page and cad in page
    assert SUM not in page and "2,500.00" not in page


def test_the_dashboard_gives_each_currency_its_own_figure(app, firm):
    page = staff_page(app, firm, "/")
    assert_apart(page)  # open requests, overdue, received this month, and what each trust account holds
    assert "CA$1,000.00" not in page


def test_the_lists_of_requests_and_payments_total_per_currency(app, firm):
    assert_apart(staff_page(app, firm, "/bills/?status=all"))
    payments = staff_page(app, firm, "/bills/payments")
    assert_apart(payments)
    assert "CA$7.55" in payments and "$29.30" in payments  # each fee in its own currency


@pytest.mark.parametrize("report", ["open-requests", "payments"])
def test_the_reports_and_their_csv_keep_currencies_apart(app, firm, report):
    page = staff_page(app, firm, f"/reports/{report}")
    assert_apart(page)
    assert "Total USD" in page and "Total CAD" in page
    csv = staff_page(app, firm, f"/reports/{report}?format=csv")
    assert any("Currency" in line.split(",") for line in csv.splitlines())  # the column naming each row's
    assert "Total USD" in csv and "Total CAD" in csv and "1250.00" not in csv


def test_the_one_account_reports_are_in_their_accounts_currency(app, firm):
    page = staff_page(app, firm, f"/reports/journal?account={firm.cad_trust}")
    assert "CA$250.00" in page
    assert not re.search(BARE_DOLLARS + r"250\.00", page)


def test_a_matter_holding_both_currencies_says_both_and_never_their_sum(app, firm):
    page = staff_page(app, firm, f"/contacts/{firm.client}")
    assert_apart(page)
    with app.app_context():
        matter = db.session.get(Matter, firm.matter)
        with pytest.raises(ServiceError) as refused:
            set_matter_status(matter, MatterStatus.CLOSED, firm_today())
        assert "$1,000.00 and CA$250.00" in str(refused.value)


def test_money_deposited_by_hand_in_cad_is_held_in_cad(app, firm):
    with app.app_context():
        record_deposit(
            account=db.session.get(BankAccount, firm.cad_trust),
            holder=Holder(firm.client, firm.matter),
            amount_cents=50_000,
            entry_date=firm_today(),
            method="wire",
            payer="Ada Archer",
        )
    assert_apart(staff_page(app, firm, f"/contacts/{firm.client}"), cad="CA$750.00")
