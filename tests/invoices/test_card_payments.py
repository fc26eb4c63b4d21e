"""Invoices paid through the same pay link as trust requests, but into the operating account.

Each test walks a firm's day through HTTP and real SMTP: the invoice emailed with its link (from the firm's
template), part of it paid from trust, the rest by card on the client's phone; refunds and chargebacks of
such a payment; a notice period that holds part of the balance back. After each, the books and check-books
agree.
"""

import re
import secrets
import threading
import time

import pytest
from sqlalchemy import select

from tests.conftest import ON_POSTGRES, built_app, post
from tests.dates import days_ago, iso
from tests.invoices.steps import apply, invoice_for, notice_period, retainer
from tests.requests.steps import BASE_URL, DECLINED_CARD, pay, pay_form, text
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET, deliver
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Invoice, LedgerAccount, OutboxMessage, Payment, User
from trustweb.refusals import ServiceError
from trustweb.services import payments as payment_service
from trustweb.services.books import check_books
from trustweb.services.checkout import clear_due_payments
from trustweb.services.delivery import deliver_due
from trustweb.services.trust import firm_today


@pytest.fixture
def app(database, pg_schema, mailbox, standin):
    """Real email to the test mailbox; the operating account may take payments through the Stripe stand-in."""
    keys = {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET}
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": {"trust": {}, "operating": keys}}
    with built_app(database, pg_schema, BASE_URL=BASE_URL, **mailbox.config(), **config) as app, mailbox.serve(app):
        yield app


@pytest.fixture
def signed_in(app, firm, auth):
    """The firm, client A's address ada@example.com, the lawyer signed in."""
    with app.app_context():
        db.session.get(Contact, firm.client_a).email = "ada@example.com"
        db.session.commit()
        lawyer = db.session.get(User, firm.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return firm


def sent_invoice(app, firm, mailbox, hours=1000, rate=15_000, **kwargs):
    """An invoice for hours (in hundredths) × rate, sent and delivered; (its id, the pay link's path, the email)."""
    with app.app_context():
        invoice_id = invoice_for(firm, hours, rate, **kwargs)
        deliver_due()
    email = mailbox.to("ada@example.com")[-1]
    return invoice_id, mailbox.pay_link(email).removeprefix(BASE_URL), email


def operating(app, kind):
    with app.app_context():
        return db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == kind)) or 0


def invoice(app, invoice_id):
    with app.app_context():
        row = db.session.get(Invoice, invoice_id)
        return row.status, row.paid_cents


def test_a_retainer_pays_part_of_the_invoice_and_the_client_pays_the_rest_by_card(app, signed_in, mailbox):
    firm = signed_in
    with app.app_context():
        retainer(firm, 100_000)
    # $1,500.00: 10 hours at $150. The email comes from the firm's invoice template, with the lines and the link.
    invoice_id, path, email = sent_invoice(app, firm, mailbox)
    assert email["Subject"] == "Your Law Firm: invoice INV-000001 for $1,500.00"
    body = mailbox.text(email)
    assert "Review of title and closing" in body and "$1,500.00" in body and "/pay/" in body
    assert f'<a href="{BASE_URL}{path}">' in mailbox.html(email)
    assert operating(app, "receivable") == 150_000

    # $1,000 from trust: the client is told, the invoice is partly paid.
    with app.app_context():
        apply(firm, invoice_id, 100_000)
        deliver_due()
    assert invoice(app, invoice_id) == ("partially_paid", 100_000)
    notice = mailbox.to("ada@example.com")[-1]
    assert "$1,000.00 paid from your trust funds" in notice["Subject"]
    assert "Remaining in trust for you: $0.00" in mailbox.text(notice)

    # The client opens the invoice's link on their phone: $500 is due, with the lines; no trust wording.
    payer = app.test_client()
    html, _, _ = pay_form(payer, path)
    assert "Invoice INV-000001" in html and 'id="amount-due">$500.00' in html
    assert "Review of title and closing" in html and "held in" not in html

    # More than is due is refused; a declined card changes nothing.
    response, _ = pay(payer, path, "600.00")
    assert response.status_code == 422 and "$500.00" in text(response)
    response, _ = pay(payer, path, "500.00", card=DECLINED_CARD)
    assert response.status_code == 402
    assert invoice(app, invoice_id) == ("partially_paid", 100_000)

    # The rest by card, the Pay button pressed twice: one payment, into operating.
    response, posted = pay(payer, path, "500.00")
    again = payer.post(path, data=posted)
    assert response.status_code == 303 and again.status_code in (303, 409)
    receipt = text(payer.get(response.headers["Location"]))
    assert "$500.00" in receipt and "for invoice INV-000001" in receipt and "held in" not in receipt
    with app.app_context():
        [payment] = db.session.scalars(select(Payment).where(Payment.status == "succeeded")).all()
        assert (payment.invoice_id, payment.trust_request_id, payment.amount_cents) == (invoice_id, None, 50_000)
        assert payment.bank_account.kind == "operating"
        # The test processor's fee (2.9% + 30c of $500 = $14.80) is an operating expense.
        assert payment.fee_cents == 1_480
        assert check_books() == []
    assert invoice(app, invoice_id) == ("paid", 150_000)
    assert operating(app, "receivable") == 0
    assert operating(app, "operating") == 100_000 + 50_000 - 1_480
    receipt_email = mailbox.to("ada.receipts@example.com")[-1]
    assert "Paid to" in mailbox.text(receipt_email) and "trust account" not in mailbox.text(receipt_email)

    # Paid in full: the link says so.
    paid = payer.get(path)
    assert paid.status_code == 200 and "Invoice INV-000001" in text(paid) and "paid in full" in text(paid)


def test_the_staff_page_shows_card_payments_and_emails_and_refunds_reopen_the_balance(app, signed_in, mailbox, client):
    firm = signed_in
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=200, rate=10_000)  # $200
    payer = app.test_client()
    response, _ = pay(payer, path, "200.00")
    assert response.status_code == 303
    assert invoice(app, invoice_id) == ("paid", 20_000)
    page = text(client.get(f"/bills/invoices/{invoice_id}"))
    assert "R-000001" in page and "Invoice" in page and "Receipt" in page and "Sent" in page
    assert "owed on INV-000001 again" in page  # the refund form says what a refund does
    with app.app_context():
        payment_id = db.session.scalar(select(Payment.id))
    # A refund of $50, clicked twice: once; the operating account pays it and the invoice owes it again.
    key = secrets.token_urlsafe(24)
    for _ in range(2):
        post(client, f"/bills/payments/{payment_id}/refund", {"amount": "50.00", "reason": "Goodwill", "key": key})
    assert invoice(app, invoice_id) == ("partially_paid", 15_000)
    assert operating(app, "receivable") == 5_000
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert (payment.refunded_cents, payment.status) == (5_000, "succeeded")
        assert check_books() == []
    # The Payments list names the invoice.
    listing = text(client.get("/bills/payments"))
    assert "INV-000001" in listing and f"/bills/invoices/{invoice_id}" in listing


def test_money_promised_from_trust_on_notice_is_not_asked_for_again_on_the_pay_page(app, signed_in, mailbox):
    firm = signed_in
    with app.app_context():
        notice_period(7)
        retainer(firm, 100_000)
    invoice_id, path, _ = sent_invoice(app, firm, mailbox)  # $1,500
    with app.app_context():
        apply(firm, invoice_id, 100_000)  # scheduled, not moved
        deliver_due()
    notice = mailbox.to("ada@example.com")[-1]
    assert "to be paid from your trust funds" in notice["Subject"]
    assert "/notice/" in mailbox.text(notice) and "/notice/" in mailbox.html(notice)
    payer = app.test_client()
    html, _, _ = pay_form(payer, path)
    assert 'id="amount-due">$500.00' in html and "To be paid from your trust funds" in html
    response, _ = pay(payer, path, "1,500.00")
    assert response.status_code == 422
    response, _ = pay(payer, path, "500.00")
    assert response.status_code == 303
    assert invoice(app, invoice_id) == ("partially_paid", 50_000)


def test_a_void_or_unsent_invoice_takes_no_payment_and_sending_again_replaces_nothing_paid(
    app, signed_in, mailbox, client
):
    firm = signed_in
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=100, rate=10_000)
    # Sent again: a second link; both work until the invoice is paid or void.
    response = post(client, f"/bills/invoices/{invoice_id}/send")
    assert response.status_code == 303
    second = mailbox.pay_link(mailbox.to("ada@example.com")[-1]).removeprefix(BASE_URL)
    assert second != path and app.test_client().get(second).status_code == 200
    post(client, f"/bills/invoices/{invoice_id}/void", {"reason": "Billed to the wrong matter"})
    assert invoice(app, invoice_id)[0] == "void"
    for link in (path, second):
        page = app.test_client().get(link)
        assert page.status_code == 410 and "Invoice INV-000001" in text(page)
    closed = post(app.test_client(), second, {"amount": "100.00", "checkout": secrets.token_urlsafe(24)})
    assert closed.status_code == 410
    with app.app_context():
        assert db.session.scalar(select(Payment.id)) is None
        # A draft has no link at all.
        draft = invoice_for(firm, 100, 10_000, send=False)
        assert db.session.get(Invoice, draft).links == []


def test_a_manual_payment_of_an_invoice_sends_a_receipt_and_shows_in_the_payment_list(app, signed_in, client, mailbox):
    firm = signed_in
    invoice_id, _, _ = sent_invoice(app, firm, mailbox, hours=100, rate=10_000)
    page = text(client.get(f"/bills/invoices/{invoice_id}"))
    key = page.split('name="payment-key" type="hidden" value="')[1].split('"')[0]
    response = post(
        client,
        f"/bills/invoices/{invoice_id}/payments",
        {
            "payment-key": key,
            "payment-amount": "100.00",
            "payment-received_on": iso(days_ago(5)),
            "payment-method": "cheque",
            "payment-payer": "Ada Archer",
            "payment-reference": "Cheque 1182",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, text(response)
    # htmx swaps the panel and, out of band, the payment list.
    assert 'id="invoice-payments" hx-swap-oob="true"' in text(response) and "Cheque 1182" in text(response)
    assert invoice(app, invoice_id) == ("paid", 10_000)
    with app.app_context():
        deliver_due()
        kinds = db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.invoice_id == invoice_id)).all()
    assert sorted(kinds) == ["invoice", "lawyer_notice", "receipt"]


def stripe_operating(app, firm):
    with app.app_context():
        account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "operating"))
        account.processor = "stripe"
        db.session.commit()


def test_an_invoice_paid_through_stripe_then_charged_back_and_won(app, signed_in, mailbox, standin, client):
    firm = signed_in
    stripe_operating(app, firm)
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=400, rate=10_000)  # $400
    payer = app.test_client()
    html, csrf, key = pay_form(payer, path)
    assert "Continue to secure payment" in html
    response = payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": "400.00"})
    assert response.status_code == 303, text(response)
    session_id = re.search(r"/pay/(cs_test_\w+)", response.headers["Location"]).group(1)
    [call] = standin.calls("POST", "/v1/checkout/sessions")
    assert "Invoice INV-000001" in dict(call.pairs)["line_items[0][price_data][product_data][name]"]
    standin.complete(session_id)
    for _ in range(3):
        assert deliver(client, standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        [payment] = db.session.scalars(select(Payment)).all()
        # Stripe kept its fee from the payout into operating: an operating expense, no trust shortfall.
        assert (payment.status, payment.amount_cents, payment.fee_cents) == ("succeeded", 40_000, 1_190)
        assert db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.kind == "shortfall")) is None
        intent = payment.processor_reference
        assert check_books() == []
    assert invoice(app, invoice_id) == ("paid", 40_000)
    back = payer.get(f"{path}/return?session_id={session_id}")
    assert back.status_code == 303 and "/receipts/R-000001" in back.headers["Location"]

    # A chargeback: the money leaves operating and is owed on the invoice again; the dispute fee is the firm's.
    dispute = standin.dispute(intent, 40_000)
    assert deliver(client, standin, standin.charge_dispute_created(dispute["id"])).status_code == 200
    assert invoice(app, invoice_id) == ("sent", 0)
    assert operating(app, "receivable") == 40_000
    with app.app_context():
        assert check_books() == []
    # Won: the money and the invoice's payment come back.
    standin.close_dispute(dispute["id"], won=True)
    assert deliver(client, standin, standin.charge_dispute_closed(dispute["id"])).status_code == 200
    assert invoice(app, invoice_id) == ("paid", 40_000)
    assert operating(app, "receivable") == 0
    with app.app_context():
        assert check_books() == []


# Invoice card payments meeting the firm's other work (found by a review; each failed before its fix).


def start_checkout(app, path, amount):
    payer = app.test_client()
    _, csrf, key = pay_form(payer, path)
    response = payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": amount})
    assert response.status_code == 303, text(response)
    return re.search(r"/pay/(cs_test_\w+)", response.headers["Location"]).group(1)


def test_a_bank_payment_of_an_invoice_is_not_held_for_clearing(app, signed_in, mailbox, standin, client):
    firm = signed_in
    stripe_operating(app, firm)
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=400, rate=10_000)  # $400
    session_id = start_checkout(app, path, "400.00")
    standin.complete(session_id, method="us_bank_account")
    deliver(client, standin, standin.checkout_session_completed(session_id))
    standin.settle_ach(session_id, succeeded=True)
    deliver(client, standin, standin.checkout_session_async_payment_succeeded(session_id))
    with app.app_context():
        [payment] = db.session.scalars(select(Payment)).all()
        assert (payment.status, payment.method) == ("succeeded", "ach")
        # Operating money is not held: nothing waits for clear-payments, which runs clean.
        assert payment.clears_on is None
        assert clear_due_payments() == 0
    assert invoice(app, invoice_id) == ("paid", 40_000)


def test_refunding_the_excess_of_a_late_checkout_leaves_the_invoice_paid(app, signed_in, mailbox, standin, client):
    firm = signed_in
    stripe_operating(app, firm)
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=100, rate=10_000)  # $100
    session_id = start_checkout(app, path, "100.00")  # the client is on Stripe's page...
    with app.app_context():  # ...while the office records the cheque that arrived for the same invoice
        payment_service.record_manual_payment(
            db.session.get(Invoice, invoice_id),
            amount_cents=10_000,
            method="cheque",
            received_on=firm_today(),
            reference="Cheque 1",
            payer="Ada Archer",
            idempotency_key=secrets.token_urlsafe(24),
            user=db.session.get(User, firm.lawyer),
        )
    standin.complete(session_id)
    deliver(client, standin, standin.checkout_session_completed(session_id))
    assert invoice(app, invoice_id) == ("paid", 10_000)
    assert operating(app, "receivable") == -10_000  # the card's $100 is a credit the firm owes back
    with app.app_context():
        card = db.session.scalar(select(Payment).where(Payment.method == "card"))
        card_id = card.id
    # The firm gives the duplicate $100 back.
    post(
        client,
        f"/bills/payments/{card_id}/refund",
        {"amount": "100.00", "reason": "Paid twice", "key": secrets.token_urlsafe(24)},
    )
    # The excess went back: nothing is owed either way, and the invoice stays paid by the cheque.
    assert operating(app, "receivable") == 0
    assert invoice(app, invoice_id) == ("paid", 10_000)


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_an_invoice_card_payment_and_the_firm_replacing_a_trust_shortfall_both_go_through(
    app, signed_in, mailbox, monkeypatch
):
    """Both lock the operating ledgers in the same (sorted) order, so neither waits on the other in reverse: the
    fee step of each is held at the worst moment (a hook around operating_expense) and both still commit."""
    from trustweb.models import BankAccount
    from trustweb.services import fees

    firm = signed_in
    invoice_id, invoice_path, _ = sent_invoice(app, firm, mailbox, hours=1000, rate=10_000)
    assert pay(app.test_client(), invoice_path, "10.00")[0].status_code == 303  # every operating ledger exists
    with app.app_context():
        from tests.invoices.steps import retainer

        retainer(firm, 100_000)
        fees.book_shortfall(db.session.get(BankAccount, firm.account), 5_000, firm_today(), "Stripe kept a fee")
        db.session.commit()

    original = fees.operating_expense
    a_holds_operating, b_in_expense = threading.Event(), threading.Event()

    def operating_expense(operating, amount_cents, entry_date, description, **kwargs):
        if "replaced" in description:  # replace_shortfall
            a_holds_operating.wait(5)
            b_in_expense.set()
        else:  # the invoice payment's fee: operating and receivable are already locked
            a_holds_operating.set()
            b_in_expense.wait(5)
            time.sleep(0.5)  # B now holds expense and waits for operating
        return original(operating, amount_cents, entry_date, description, **kwargs)

    monkeypatch.setattr(fees, "operating_expense", operating_expense)
    outcome = {}

    def invoice_payment():
        outcome["invoice"] = pay(app.test_client(), invoice_path, "20.00")[0].status_code

    def replace():
        with app.app_context():
            try:
                fees.replace_shortfall(db.session.get(BankAccount, firm.account), 5_000, firm_today())
                outcome["replace"] = "ok"
            except Exception as error:  # noqa: BLE001
                outcome["replace"] = repr(error)[:200]
            finally:
                db.session.remove()

    threads = [threading.Thread(target=invoice_payment), threading.Thread(target=replace)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcome == {"invoice": 303, "replace": "ok"}


def test_trust_is_not_scheduled_against_what_the_client_is_paying_online(app, signed_in, mailbox, standin, client):
    from tests.invoices.steps import apply, notice_period, retainer
    from trustweb.services.delivery import deliver_due

    firm = signed_in
    stripe_operating(app, firm)
    with app.app_context():
        notice_period(7)
        retainer(firm, 100_000)
    invoice_id, path, _ = sent_invoice(app, firm, mailbox, hours=100, rate=10_000)  # $100
    session_id = start_checkout(app, path, "100.00")  # the client is paying all of it on Stripe's page
    with app.app_context(), pytest.raises(ServiceError, match="being paid by the client online"):
        apply(firm, invoice_id, 6_000)
    standin.complete(session_id)
    deliver(client, standin, standin.checkout_session_completed(session_id))
    with app.app_context():
        row = db.session.get(Invoice, invoice_id)
        assert (row.status, row.paid_cents, row.scheduled_cents) == ("paid", 10_000, 0)
        deliver_due()
    receipt = mailbox.text(
        mailbox.to("ada.receipts@example.com")[-1]
        if mailbox.to("ada.receipts@example.com")
        else mailbox.to("ada@example.com")[-1]
    )
    assert "Still due:    $0.00" in receipt, receipt
