"""A lawyer bills a matter from its page, sends the invoice and pays it from trust in place (htmx)."""

import re

import pytest
from sqlalchemy import select

from tests.conftest import post
from tests.dates import days_ago, iso
from tests.factories import gen_account, gen_trust_setup, gen_user
from trustweb.extensions import db
from trustweb.models import BankAccount, Invoice, OutboxMessage, User
from trustweb.services.books import check_books
from trustweb.services.trust import Holder, firm_today, record_deposit

KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')


@pytest.fixture
def firm(app, auth):
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        record_deposit(
            account=db.session.get(BankAccount, setup.account),
            holder=Holder(setup.client_a, setup.matter_a1),
            amount_cents=500_000,
            entry_date=firm_today(),
            method="wire",
            payer="Ada Archer",
        )
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def line(n, description="", quantity="", rate="", kind="fee", on=None):
    """Row n of the invoice form; the work was done four weeks ago unless `on` says."""
    prefix = f"lines-{n}-"
    return {
        prefix + "line_date": (on or iso(days_ago(28))) if description else "",
        prefix + "description": description,
        prefix + "kind": kind,
        prefix + "quantity": quantity,
        prefix + "rate": rate,
    }


def new_invoice(client, firm, *lines, **fields):
    data = {"matter_id": str(firm.matter_a1), "issued_on": iso(days_ago(27)), "due_on": "", "notes": "", **fields}
    for n in range(6):
        data.update(lines[n] if n < len(lines) else line(n))
    return post(client, "/bills/invoices/new", data)


def test_bill_send_and_pay_from_trust_in_place(app, client, firm):
    page = client.get(f"/matters/{firm.matter_a1}").get_data(as_text=True)
    assert f"/bills/invoices/new?matter_id={firm.matter_a1}" in page
    response = new_invoice(
        client, firm, line(0, "Title review", "2.5", "300.00"), line(1, "Recording fee", "1", "85.00", kind="expense")
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    invoice_url = response.headers["Location"]
    with app.app_context():
        invoice = db.session.scalar(select(Invoice))
        assert (invoice.number, invoice.total_cents, len(invoice.lines)) == ("INV-000001", 83_500, 2)
    assert post(client, f"{invoice_url}/send").status_code == 303
    page = client.get(invoice_url).get_data(as_text=True)
    assert "Apply trust funds" in page and 'value="835.00"' in page  # all of it: trust holds more than is due
    response = post(
        client,
        f"{invoice_url}/apply-trust",
        {"key": KEY.search(page).group(1), "amount": "835.00", "source": "matter"},
        headers={"HX-Request": "true"},
    )
    panel = response.get_data(as_text=True)
    assert response.status_code == 200 and panel.startswith('<section class="card" id="invoice-panel"')
    assert "Paid</span>" in panel and 'id="invoice-due">$0.00' in panel and "$4,165.00" in panel
    with app.app_context():
        assert db.session.get(Invoice, invoice.id).status == "paid"
        kinds = [m.kind for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert kinds == ["invoice", "trust_notice"]
        assert check_books() == []


def test_bad_invoice_input_is_refused(app, client, firm):
    for lines, message in [
        ((line(0, "Title review", "abc", "300"),), "Enter the hours or quantity"),
        ((line(0, "Title review", "2", ""),), "Enter the rate or price"),
        ((line(0, "<b>Title</b>", "2", "300"),), "cannot be stored"),
        ((), "Add at least one line"),
    ]:
        response = new_invoice(client, firm, *lines)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Invoice).count() == 0


def test_applying_more_than_is_due_or_held_is_refused_in_place(app, client, firm):
    response = new_invoice(client, firm, line(0, "Trial preparation", "30", "300.00"))  # $9,000.00
    invoice_url = response.headers["Location"]
    post(client, f"{invoice_url}/send")
    page = client.get(invoice_url).get_data(as_text=True)
    assert 'value="5000.00"' in page  # what trust holds, not the whole $9,000.00
    response = post(
        client,
        f"{invoice_url}/apply-trust",
        {"key": KEY.search(page).group(1), "amount": "5000.01", "source": "matter"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "cannot be taken from it" in response.get_data(as_text=True)


def test_a_staff_member_cannot_apply_trust_funds(app, client, firm, auth):
    with app.app_context():
        staff = gen_user("staff")
    auth.logout()
    auth.login_as(staff)
    assert post(client, "/bills/invoices/1/apply-trust", {"amount": "1"}).status_code == 403


def test_a_cheque_for_the_invoice_goes_to_operating(app, client, firm):
    response = new_invoice(client, firm, line(0, "Title review", "2", "300.00"))  # $600.00
    invoice_url = response.headers["Location"]
    post(client, f"{invoice_url}/send")
    page = client.get(invoice_url).get_data(as_text=True)
    key = re.search(r'name="payment-key" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "payment-key": key,
        "payment-amount": "250.00",
        "payment-received_on": iso(days_ago(10)),
        "payment-method": "cheque",
        "payment-payer": "Ada Archer",
        "payment-reference": "Cheque 1042",
    }
    for _ in range(2):  # a double click records it once
        response = post(client, f"{invoice_url}/payments", data, headers={"HX-Request": "true"})
        assert response.status_code == 200
    assert "Partially paid" in response.get_data(as_text=True)
    too_much = post(client, f"{invoice_url}/payments", {**data, "payment-key": "k" * 24, "payment-amount": "350.01"})
    assert too_much.status_code == 422 and "record at most that" in too_much.get_data(as_text=True)
    with app.app_context():
        invoice = db.session.scalar(select(Invoice))
        assert (invoice.status, invoice.paid_cents) == ("partially_paid", 25_000)
        from trustweb.models import LedgerAccount

        balances = {
            row.kind: row.balance_cents
            for row in db.session.scalars(
                select(LedgerAccount).where(LedgerAccount.kind.in_(("operating", "receivable")))
            )
        }
        assert balances == {"operating": 25_000, "receivable": 35_000}
        assert check_books() == []


def test_a_sent_invoice_voided_reverses_its_receivable(app, client, firm):
    response = new_invoice(client, firm, line(0, "Title review", "2", "300.00"))
    invoice_url = response.headers["Location"]
    post(client, f"{invoice_url}/send")
    page = post(client, f"{invoice_url}/void", {"reason": "Billed to the wrong matter"}, follow_redirects=True)
    assert "INV-000001 is void." in page.get_data(as_text=True)
    with app.app_context():
        from trustweb.models import LedgerAccount

        invoice = db.session.scalar(select(Invoice))
        assert (invoice.status, invoice.void_reason) == ("void", "Billed to the wrong matter")
        receivable = db.session.scalar(select(LedgerAccount).where(LedgerAccount.kind == "receivable"))
        assert receivable.balance_cents == 0
        assert check_books() == []
    again = post(client, f"{invoice_url}/void", {"reason": "Again"}, follow_redirects=True)
    assert "already void" in again.get_data(as_text=True)


def test_an_invoice_with_a_payment_is_not_voided(app, client, firm):
    response = new_invoice(client, firm, line(0, "Title review", "2", "300.00"))
    invoice_url = response.headers["Location"]
    post(client, f"{invoice_url}/send")
    page = client.get(invoice_url).get_data(as_text=True)
    post(
        client, f"{invoice_url}/apply-trust", {"key": KEY.search(page).group(1), "amount": "100.00", "source": "matter"}
    )
    page = post(client, f"{invoice_url}/void", {"reason": "Mistake"}, follow_redirects=True).get_data(as_text=True)
    assert "cannot be voided" in page
    with app.app_context():
        assert db.session.scalar(select(Invoice)).status == "partially_paid"
