"""One checkout for a bill and a top-up, with the test processor: client A, signed in to the portal, pays their
$600.00 invoice and the $850.00 still due on their trust request with one card form. Two payments, never one: the
invoice's into operating, the request's into trust, each with its own receipt; a card that takes only the first
leaves it standing and says exactly what was and was not paid.
"""

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import ON_POSTGRES, posted_at_once
from tests.dates import card_expiry
from tests.factories import gen_account
from tests.portal.steps import ADA, CSRF, signed_in_client
from tests.requests.steps import DECLINED_CARD, GOOD_CARD
from trustweb.extensions import db
from trustweb.ledger.rules import LedgerKind
from trustweb.models import (
    BankAccount,
    Invoice,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    OutboxMessage,
    Payment,
    TrustRequest,
)
from trustweb.payments import Declined
from trustweb.payments.test import TestProcessor as CardProcessor
from trustweb.services.books import check_books

INVOICE_CENTS, TRUST_CENTS = 60_000, 85_000  # invoice_a: 4 hours at $150; request_a: $1,000 less a $150 cheque
CHECKOUT = re.compile(r'name="checkout" type="hidden" value="([^"]+)"')


def text(response):
    return response.get_data(as_text=True)


def hidden(html, name):
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def numbers(firm):
    with_invoice = db.session.get(Invoice, firm.invoice_a).number
    return with_invoice, db.session.get(TrustRequest, firm.request_a).number


def open_pay_both(browser, invoice_id, request_id):
    """The Pay both page: (its html, the form as the browser would post it without the card)."""
    page = browser.get(f"/portal/pay-both/{invoice_id}/{request_id}")
    assert page.status_code == 200, text(page)
    html = text(page)
    form = {name: hidden(html, name) for name in ("csrf_token", "checkout", "invoice_amount", "trust_amount")}
    return html, form


def card(number=GOOD_CARD):
    return {"name": "Ada Archer", "number": number, "expiry": card_expiry(), "cvc": "123", "email": ""}


def pay_both(browser, firm, number=GOOD_CARD, form=None):
    """Client A fills in the card once and presses Pay both; (the response, the form posted)."""
    if form is None:
        _, form = open_pay_both(browser, firm.invoice_a, firm.request_a)
    data = {**form, **card(number)}
    return browser.post(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}", data=data), data


@pytest.fixture
def ada(app, firm, mailbox):
    return signed_in_client(app, mailbox, firm, firm.client_a, ADA)


@pytest.fixture
def card_limit(monkeypatch):
    """Client A's card takes charges up to $700.00 and declines a larger one, as a card near its limit does."""
    charge = CardProcessor.charge_card

    def limited(self, amount_cents, card, idempotency_key, description, *, currency):
        if amount_cents > 70_000:
            raise Declined("Your card has insufficient funds. Please use a different card.")
        return charge(self, amount_cents, card, idempotency_key, description, currency=currency)

    monkeypatch.setattr(CardProcessor, "charge_card", limited)


def kinds_moved(entry_id):
    """{ledger kind: amount} of an entry's lines, and its bank account's kind."""
    rows = db.session.execute(
        select(LedgerAccount.kind, JournalLine.amount_cents)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.ledger_account_id)
        .where(JournalLine.entry_id == entry_id)
    ).all()
    entry = db.session.get(JournalEntry, entry_id)
    return dict(rows), entry.bank_account.kind


def payments():
    return db.session.scalars(select(Payment).where(Payment.processor == "test").order_by(Payment.id)).all()


def receipts_queued():
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "receipt").order_by(OutboxMessage.id)
    ).all()


def test_the_home_page_offers_the_invoice_and_the_request_together_saying_where_each_goes(app, firm, ada):
    with app.app_context():
        invoice, request = numbers(firm)
    home = text(ada.get("/portal/"))
    assert 'id="pay-both"' in home and f"Pay invoice {invoice} ($600.00) and trust request {request} ($850.00)" in home
    html, form = open_pay_both(ada, firm.invoice_a, firm.request_a)
    assert (form["invoice_amount"], form["trust_amount"]) == (str(INVOICE_CENTS), str(TRUST_CENTS))
    items = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert f"Invoice {invoice} , $600.00" in items and "Ada Archer LLP's operating account" not in items
    assert "operating account, for its fees and expenses" in items
    assert f"Trust request {request} , $850.00" in items and "trust account for you" in items
    assert "Total $1,450.00 , taken as two payments" in items
    assert 'name="number"' in html  # one card form for both


def test_both_paid_two_charges_into_two_accounts_two_receipts(app, firm, ada):
    with app.app_context():
        invoice, request = numbers(firm)
        receipts_before = len(receipts_queued())
    response, posted = pay_both(ada, firm)
    assert response.status_code == 303, text(response)
    summary_url = response.headers["Location"]
    assert summary_url == f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{posted['checkout']}"
    page = text(ada.get(summary_url))
    assert "Thank you: both payments received" in page
    with app.app_context():
        paid_invoice, paid_trust = payments()
        # Two charges, each with its own key made from the one checkout key, each into its own account.
        assert paid_invoice.idempotency_key == posted["checkout"] + ":invoice"
        assert paid_trust.idempotency_key == posted["checkout"] + ":trust"
        assert (paid_invoice.invoice_id, paid_invoice.amount_cents, paid_invoice.status) == (
            firm.invoice_a,
            INVOICE_CENTS,
            "succeeded",
        )
        assert (paid_trust.trust_request_id, paid_trust.amount_cents, paid_trust.status) == (
            firm.request_a,
            TRUST_CENTS,
            "succeeded",
        )
        assert paid_invoice.processor_reference != paid_trust.processor_reference
        assert f"Paid $600.00 on {invoice} (receipt {paid_invoice.receipt_number})." in page
        assert f"Paid $850.00 on {request} (receipt {paid_trust.receipt_number})." in page
        # The journal: the invoice's share in the operating ledgers, the request's in trust bank and client ledger.
        assert kinds_moved(paid_invoice.journal_entry_id) == (
            {LedgerKind.OPERATING: INVOICE_CENTS, LedgerKind.RECEIVABLE: -INVOICE_CENTS},
            "operating",
        )
        assert kinds_moved(paid_trust.journal_entry_id) == (
            {LedgerKind.BANK: TRUST_CENTS, LedgerKind.CLIENT: -TRUST_CENTS},
            "trust",
        )
        # Fees never from trust: both fees are operating expenses.
        for payment in (paid_invoice, paid_trust):
            assert kinds_moved(payment.fee_entry_id)[1] == "operating"
        assert db.session.get(Invoice, firm.invoice_a).status == "paid"
        assert db.session.get(TrustRequest, firm.request_a).status == "paid"
        # Two receipts, one per payment.
        receipts = receipts_queued()[receipts_before:]
        assert [(m.invoice_id, m.trust_request_id) for m in receipts] == [
            (firm.invoice_a, None),
            (None, firm.request_a),
        ]
        assert check_books() == []
    # Both gone from the home page's list; the summary offers the receipts.
    assert 'id="pay-both"' not in text(ada.get("/portal/"))
    assert page.count(" (PDF)</a>") == 2


def test_the_second_declined_leaves_the_first_paid_and_says_exactly_what_was_taken(app, firm, ada, card_limit):
    with app.app_context():
        invoice, request = numbers(firm)
        trust_entries = db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == "deposit"))
        receipts_before = len(receipts_queued())
    response, _ = pay_both(ada, firm)
    assert response.status_code == 303, text(response)
    page = re.sub(r"\s+", " ", text(ada.get(response.headers["Location"])))
    assert "One of your two payments received" in page
    with app.app_context():
        paid, declined = payments()
        assert (paid.invoice_id, paid.status) == (firm.invoice_a, "succeeded")
        assert (declined.trust_request_id, declined.status, declined.journal_entry_id) == (
            firm.request_a,
            "failed",
            None,
        )
        assert f"Paid $600.00 on {invoice} (receipt {paid.receipt_number})." in page
        assert (
            f"Your card was declined for the trust deposit of $850.00 on {request}: nothing was taken for it." in page
        )
        # Nothing booked for the second: the request is as it was, and only the invoice's receipt went out.
        trust_request = db.session.get(TrustRequest, firm.request_a)
        assert (trust_request.status, trust_request.payable_cents) == ("partially_paid", TRUST_CENTS)
        assert db.session.get(Invoice, firm.invoice_a).status == "paid"
        assert [m.invoice_id for m in receipts_queued()[receipts_before:]] == [firm.invoice_a]
        assert (
            db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == "deposit"))
            == trust_entries + 1
        )
        assert check_books() == []
    # A button pays the rest on its own.
    assert f'aria-label="Pay $850.00 on {request}"' in page
    home = text(ada.get("/portal/"))
    assert request in home and invoice not in home.split('id="in-trust"')[0]


def test_the_first_declined_takes_nothing_and_does_not_try_the_second(app, firm, ada):
    response, posted = pay_both(ada, firm, number=DECLINED_CARD)
    assert response.status_code == 402
    assert (
        "Your card was declined. Please use a different card or contact your bank. Nothing was taken for either."
        in (text(response))
    )
    assert CHECKOUT.search(text(response)).group(1) != posted["checkout"]  # a new try gets a new key
    with app.app_context():
        [failed] = payments()
        assert (failed.invoice_id, failed.status) == (firm.invoice_a, "failed")
        assert db.session.get(TrustRequest, firm.request_a).paid_cents == 15_000  # the cheque only
    # The same checkout posted again (a reload) takes nothing either.
    again = ada.post(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}", data=posted)
    assert again.status_code == 402
    with app.app_context():
        assert len(payments()) == 1


def test_the_same_checkout_posted_twice_books_each_payment_once(app, firm, ada, card_limit):
    first, posted = pay_both(ada, firm)
    with app.app_context():
        entries = db.session.scalar(select(func.count(JournalEntry.id)))
        receipts = len(receipts_queued())
    for _ in range(2):  # a double click, then the back button and Pay again
        again = ada.post(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}", data=posted)
        assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        assert [(p.status, p.amount_cents) for p in payments()] == [
            ("succeeded", INVOICE_CENTS),
            ("failed", TRUST_CENTS),
        ]
        assert db.session.scalar(select(func.count(JournalEntry.id))) == entries
        assert len(receipts_queued()) == receipts
        assert check_books() == []


def test_an_amount_changed_since_the_page_was_shown_is_refused_for_that_item(app, firm, ada):
    with app.app_context():
        _, request = numbers(firm)
    _, form = open_pay_both(ada, firm.invoice_a, firm.request_a)
    # More than is due on the request (a forged form, or paid in part in another tab meanwhile): never charged.
    response, _ = pay_both(ada, firm, form={**form, "trust_amount": str(TRUST_CENTS + 1)})
    assert response.status_code == 303
    page = text(ada.get(response.headers["Location"]))
    assert "The amount due is $850.00; you cannot pay more than that." in page
    assert f"The trust deposit of $850.00 on {request} was not paid: nothing was taken for it." in page
    with app.app_context():
        [paid] = payments()
        assert paid.invoice_id == firm.invoice_a


def test_client_a_cannot_pay_or_read_client_bs_items_through_the_combined_checkout(app, firm, ada):
    with app.app_context():
        draft = db.session.get(TrustRequest, firm.draft_a).id
    for invoice_id, request_id in (
        (firm.invoice_b, firm.request_b),
        (firm.invoice_a, firm.request_b),
        (firm.invoice_b, firm.request_a),
        (firm.invoice_a, draft),
    ):
        base = f"/portal/pay-both/{invoice_id}/{request_id}"
        assert ada.get(base).status_code == 404
        token = CSRF.search(text(ada.get("/portal/"))).group(1)
        data = {"csrf_token": token, "checkout": "k" * 32, "invoice_amount": "100", "trust_amount": "100", **card()}
        assert ada.post(base, data=data).status_code == 404
        assert ada.get(f"{base}/{'k' * 32}").status_code == 404
        assert ada.get(f"{base}/{'k' * 32}/return?session_id=cs_test_x").status_code == 404
        assert ada.post(f"{base}/{'k' * 32}/next", data=data).status_code == 404
    with app.app_context():
        assert payments() == []


def test_a_checkout_key_of_another_payment_is_not_this_pairs(app, firm, ada):
    """A summary found by a key shows only payments of its own invoice and request."""
    with app.app_context():
        other = Payment(
            idempotency_key="x" * 24 + ":trust",
            trust_request_id=firm.request_b,
            bank_account_id=firm.account,
            amount_cents=100,
            method="card",
            processor="test",
            status="failed",
            received_on=db.session.get(TrustRequest, firm.request_b).issued_on,
        )
        db.session.add(other)
        db.session.commit()
    page = text(ada.get(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{'x' * 24}"))
    assert "Nothing has been paid" in page and "declined" not in page
    assert "Ben Baker" not in page


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_the_same_checkout_posted_from_four_tabs_at_once_books_each_payment_once(app, firm, mailbox):
    """A flaky phone connection sends Pay both four times at the same moment."""
    browsers = [signed_in_client(app, mailbox, firm, firm.client_a, ADA) for _ in range(4)]
    _, form = open_pay_both(browsers[0], firm.invoice_a, firm.request_a)
    posts = []
    for browser in browsers:
        _, own = open_pay_both(browser, firm.invoice_a, firm.request_a)
        posts.append((browser, {**form, "csrf_token": own["csrf_token"], **card()}))
    responses = posted_at_once(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}", posts)
    summary = f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{form['checkout']}"
    assert [(r.status_code, r.headers["Location"]) for r in responses] == [(303, summary)] * 4
    with app.app_context():
        assert [(p.status, p.amount_cents) for p in payments()] == [
            ("succeeded", INVOICE_CENTS),
            ("succeeded", TRUST_CENTS),
        ]
        assert check_books() == []


def test_an_invoice_and_a_request_in_different_currencies_are_never_summed(app, firm, ada):
    with app.app_context():
        db.session.get(BankAccount, firm.account).currency = "CAD"  # the trust account; operating stays in USD
        gen_account("Operating (CAD)", kind="operating", currency="CAD")  # where the CAD card fee is booked
        db.session.commit()
    html, form = open_pay_both(ada, firm.invoice_a, firm.request_a)
    assert "Total" not in html and "The two are in different currencies: each is charged in its own." in html
    assert "Pay both</button>" in html
    response, _ = pay_both(ada, firm, form=form)
    assert response.status_code == 303
    with app.app_context():
        paid_invoice, paid_trust = payments()
        assert (paid_invoice.bank_account.currency, paid_invoice.amount_cents) == ("USD", INVOICE_CENTS)
        assert (paid_trust.bank_account.currency, paid_trust.amount_cents) == ("CAD", TRUST_CENTS)
