"""A lawyer refunds a payment: only from the paying client's ledger, never beyond what is available there."""

import re
import secrets

import pytest

from tests.conftest import post
from tests.requests.steps import (
    gen_firm,
    gen_sent_request,
    held_for,
    pay,
    payments,
    refund,
    spend_and_fund_another_client,
    text,
)
from trustweb.extensions import db
from trustweb.models import Refund, TrustRequest, User
from trustweb.services.books import check_books


@pytest.fixture
def firm(app, client, auth):
    with app.app_context():
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def paid(app, firm, mailbox, amount="5,000.00"):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
    assert pay(app.test_client(), path, amount)[0].status_code == 303
    with app.app_context():
        return request_id, payments()[-1].id


def test_a_partial_then_the_rest_refunded_by_hand(app, firm, client, mailbox):
    request_id, payment_id = paid(app, firm, mailbox)
    page = text(refund(client, payment_id, "1,000.00"))
    assert "$1,000.00 of R-000001 refunded." in page
    with app.app_context():
        assert held_for(firm) == (400_000, 400_000)
        trust_request = db.session.get(TrustRequest, request_id)
        # What was given back is no longer asked for: nothing is due, so no reminder goes out. The request still
        # says what it asked and what was paid; the refund is counted beside them.
        assert (
            trust_request.status,
            trust_request.amount_cents,
            trust_request.paid_cents,
            trust_request.refunded_cents,
            trust_request.due_cents,
        ) == ("paid", 500_000, 500_000, 100_000, 0)
        [payment] = payments()
        assert (payment.status, payment.refunded_cents, payment.fee_cents) == ("succeeded", 100_000, 14_530)
    text(refund(client, payment_id, "4,000.00"))
    with app.app_context():
        assert held_for(firm) == (0, 0)
        [payment] = payments()
        # The fee was the firm's cost and stays so: a refund does not bring it back.
        assert (payment.status, payment.refunded_cents, payment.fee_cents) == ("refunded", 500_000, 14_530)
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.void_reason) == ("void", "Refunded in full.")
        assert (trust_request.amount_cents, trust_request.paid_cents, trust_request.refunded_cents) == (
            500_000,
            500_000,
            500_000,
        )
        assert db.session.query(Refund).count() == 2
        assert check_books() == []


def test_a_refund_beyond_what_is_left_or_available_is_refused(app, firm, client, mailbox):
    request_id, payment_id = paid(app, firm, mailbox)
    page = text(refund(client, payment_id, "5,000.01"))
    assert "$5,000.00 of this payment is left to refund" in page
    with app.app_context():
        # The client's money was spent meanwhile (a filing fee); another client's money is never touched.
        spend_and_fund_another_client(firm, 450_000, 900_000)
    page = text(refund(client, payment_id, "1,000.00"))
    assert "holds $500.00; $1,000.00 cannot be taken from it" in page
    with app.app_context():
        assert held_for(firm) == (50_000, 50_000)
        assert held_for(firm, firm.client_b, firm.matter_b1) == (900_000, 900_000)
        assert payments()[0].refunded_cents == 0
        assert check_books() == []


def test_a_double_clicked_refund_refunds_once(app, firm, client, mailbox):
    _, payment_id = paid(app, firm, mailbox)
    key = secrets.token_urlsafe(24)
    refund(client, payment_id, "1,000.00", key=key)
    refund(client, payment_id, "1,000.00", key=key)
    with app.app_context():
        assert db.session.query(Refund).count() == 1
        assert held_for(firm) == (400_000, 400_000)


def test_only_a_lawyer_or_admin_refunds(app, firm, mailbox, auth, client):
    _, payment_id = paid(app, firm, mailbox)
    from tests.factories import gen_user

    with app.app_context():
        bookkeeper = gen_user("bookkeeper")
    auth.logout()
    auth.login_as(bookkeeper)
    assert post(client, f"/bills/payments/{payment_id}/refund", {"amount": "1", "reason": "x"}).status_code == 403


def test_the_payments_list_filters_and_totals(app, firm, client, mailbox):
    paid(app, firm, mailbox, "2,000.00")
    page = text(client.get("/bills/payments"))
    assert "R-000001" in page and "$2,000.00" in page and "$58.30" in page  # 2.9% + 30 cents
    rows = text(client.get("/bills/payments?status=refunded", headers={"HX-Request": "true"}))
    assert "R-000001" not in rows and "No payments here." in rows and "<html" not in rows


def test_a_payments_deposit_is_refunded_not_reversed(app, firm, client, mailbox):
    _, payment_id = paid(app, firm, mailbox)
    with app.app_context():
        from trustweb.ledger.rules import LedgerError
        from trustweb.models import Payment
        from trustweb.services.trust import reverse

        entry = db.session.get(Payment, payment_id).journal_entry
        with pytest.raises(LedgerError, match="belongs to payment R-000001"):
            reverse(entry, reason="Mistake")
        db.session.rollback()
        assert held_for(firm) == (500_000, 500_000)


def figures(html, *names):
    """What a page's details list shows against each of the names: {name: value}."""
    shown = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", html))
    return {name: shown.get(name) for name in names}


ASKED = ("Amount asked", "Paid", "Refunded", "Net received", "Due now")


def asked(*values):
    return dict(zip(ASKED, values, strict=True))


def test_a_refund_is_shown_beside_what_was_asked_never_taken_off_it(app, firm, client, mailbox):
    # A $750 retainer paid in full; $100 of it given back.
    with app.app_context():
        paid_id, paid_path = gen_sent_request(firm, mailbox, amount_cents=75_000)
    assert pay(app.test_client(), paid_path, "750.00")[0].status_code == 303
    with app.app_context():
        payment_id = payments()[-1].id
    assert "$100.00 of R-000001 refunded." in text(refund(client, payment_id, "100.00"))
    page = text(client.get(f"/bills/requests/{paid_id}"))
    assert "TR-000001 · $750.00" in page
    assert figures(page, *ASKED) == asked("$750.00", "$750.00", "$100.00", "$650.00", "$0.00")
    with app.app_context():
        trust_request = db.session.get(TrustRequest, paid_id)
        assert (trust_request.status, trust_request.amount_cents, trust_request.paid_cents) == ("paid", 75_000, 75_000)
        assert trust_request.refunded_cents == 10_000
    payer_sees = text(app.test_client().get(paid_path))
    assert "TR-000001 for $750.00 has been paid in full" in payer_sees
    assert "$100.00 of it has been refunded to you." in payer_sees

    # Another $750 asked; $300 paid so far, and $100 of that given back: $450 is still due.
    with app.app_context():
        part_id, part_path = gen_sent_request(firm, mailbox, amount_cents=75_000, allow_partial=True)
    assert pay(app.test_client(), part_path, "300.00")[0].status_code == 303
    with app.app_context():
        payment_id = payments()[-1].id
    refund(client, payment_id, "100.00")
    page = text(client.get(f"/bills/requests/{part_id}"))
    assert figures(page, *ASKED) == asked("$750.00", "$300.00", "$100.00", "$200.00", "$450.00")
    payer_sees = text(app.test_client().get(part_path))
    assert figures(payer_sees, "Requested", "Paid so far", "Refunded to you", "Amount due") == {
        "Requested": "$750.00",
        "Paid so far": "$300.00",
        "Refunded to you": "$100.00",
        "Amount due": "$450.00",
    }

    # The lists say the same: the amount asked, with the refund beside it.
    listed = text(client.get("/bills/?status=all", headers={"HX-Request": "true", "HX-Target": "request-results"}))
    for number, due in (("TR-000001", "—"), ("TR-000002", "$450.00")):
        row = re.search(rf'<tr id="request-\d+">\s*<td[^>]*><a[^>]*>{number}</a>.*?</tr>', listed, re.S).group(0)
        assert "$750.00" in row and "$100.00 refunded" in row and due in row
    with app.app_context():
        matter_id = db.session.get(TrustRequest, part_id).matter_id
    on_matter = text(client.get(f"/matters/{matter_id}"))
    assert on_matter.count("$100.00 refunded") == 2 and on_matter.count("$750.00") >= 2

    # The open requests report: asked, paid, refunded and due.
    report = text(client.get("/reports/open-requests?format=csv"))
    header = next(line for line in report.splitlines() if line.startswith("Request,"))
    assert header.split(",")[7:11] == ["Requested", "Paid", "Refunded", "Due"]
    [row] = [line for line in report.splitlines() if line.startswith("TR-000002,")]
    assert row.split(",")[7:11] == ["750.00", "300.00", "100.00", "450.00"]
