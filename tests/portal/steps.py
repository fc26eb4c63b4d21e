"""Steps the portal tests share: a firm whose clients A and B hold money and have requests, invoices and receipts;
a client invited and signed in through the links they are emailed.

Call the gen_* steps inside an app context; the page steps take a test client.
"""

import re
from dataclasses import dataclass

from tests.conftest import post
from tests.factories import TrustSetup
from tests.invoices.steps import invoice_for
from tests.requests.steps import BASE_URL, gen_firm, gen_request, pay, send
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Payment, TrustRequest, User
from trustweb.payments import CardDetails, TestProcessor
from trustweb.services import portal, saved_methods
from trustweb.services.payments import record_manual_payment
from trustweb.services.trust import Holder, firm_today, record_deposit, record_disbursement

PORTAL_LINK = re.compile(r"https?://[^\s\"<>]+/portal/sign-in/[A-Za-z0-9_-]+")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ADA = "ada@example.com"
BEN = "ben@example.com"


@dataclass(frozen=True)
class Firm(TrustSetup):
    request_a: int  # sent to client A, open
    request_b: int  # sent to client B, open
    draft_a: int  # client A's, never sent: the client must not see it
    invoice_a: int  # sent to client A: $600.00
    invoice_b: int  # sent to client B: $300.00
    payment_a: int  # a cheque from client A toward request_a: $150.00
    payment_b: int  # a cheque from client B toward request_b: $100.00
    method_a: int  # a card client A saved (test processor)
    method_b: int  # a card client B saved


def gen_portal_firm() -> Firm:
    """Clients A and B with emails, money held for each, and a sent and a draft request."""
    setup = gen_firm()
    db.session.get(Contact, setup.client_a).email = ADA
    db.session.get(Contact, setup.client_b).email = BEN
    db.session.commit()
    account = db.session.get(BankAccount, setup.account)
    for holder, amount, payer in (
        (Holder(setup.client_a, setup.matter_a1), 250_000, "Ada Archer"),
        (Holder(setup.client_b, setup.matter_b1), 90_000, "Ben Baker"),
    ):
        record_deposit(
            account=account, holder=holder, amount_cents=amount, entry_date=firm_today(), method="wire", payer=payer
        )
    record_disbursement(
        account=account,
        holder=Holder(setup.client_a, setup.matter_a1),
        amount_cents=12_500,
        entry_date=firm_today(),
        payee="Clerk of Court",
        description="Filing fee",
        method="wire",
    )
    request_a = gen_request(setup, amount_cents=100_000)
    send(request_a, setup.lawyer)
    request_b = gen_request(
        setup, amount_cents=40_000, contact_id=setup.client_b, matter_id=setup.matter_b1, recipients=(BEN,)
    )
    send(request_b, setup.lawyer)
    draft_a = gen_request(setup, amount_cents=7_700)
    invoice_a = invoice_for(setup, 400, 15_000)
    invoice_b = invoice_for(setup, 200, 15_000, matter=setup.matter_b1)
    payment_a, payment_b = (
        cheque(request_id, cents, setup.lawyer) for request_id, cents in ((request_a, 15_000), (request_b, 10_000))
    )
    return Firm(
        **vars(setup),
        request_a=request_a,
        request_b=request_b,
        draft_a=draft_a,
        invoice_a=invoice_a,
        invoice_b=invoice_b,
        payment_a=payment_a,
        payment_b=payment_b,
        method_a=saved_card(setup, setup.client_a),
        method_b=saved_card(setup, setup.client_b),
    )


def saved_card(setup, contact_id, number="4242424242424242"):
    """A card the client saved with the test processor, with their consent; its id."""
    card = CardDetails(number=number, exp_month=12, exp_year=firm_today().year + 3, cvc="123", name="Card Holder")
    method = saved_methods.record_saved(
        db.session.get(Contact, contact_id),
        db.session.get(BankAccount, setup.account),
        TestProcessor().save_card(card, f"save-{contact_id}"),
        processor="test",
        consent_text="I authorise the firm to charge this card.",
        consent_ip=None,
        user=None,
        actor="client",
    )
    db.session.commit()
    return method.id


def cheque(request_id, cents, by):
    """A cheque from the client recorded by staff against a request; the payment's id."""
    return record_manual_payment(
        db.session.get(TrustRequest, request_id),
        amount_cents=cents,
        method="cheque",
        received_on=firm_today(),
        reference=f"Cheque {request_id:04d}",
        payer="The client",
        idempotency_key=f"cheque-{request_id}-{cents}-0000000000",
        user=db.session.get(User, by),
    ).id


def invite(contact_id, by):
    """Staff give the client portal access; the invitation is emailed."""
    return portal.invite(db.session.get(Contact, contact_id), db.session.get(User, by))


def portal_path(mailbox, address):
    """The path of the sign-in link in the newest email to this address."""
    messages = [m for m in mailbox.to(address) if "/portal/sign-in/" in mailbox.text(m)]
    assert messages, f"no portal email to {address}"
    return PORTAL_LINK.search(mailbox.text(messages[-1])).group(0).removeprefix(BASE_URL)


def use_link(browser, path):
    """Open the emailed link and press Sign in, as the client does."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    return browser.post(path, data={"csrf_token": token})


def signed_in_client(app, mailbox, firm, contact_id, address):
    """A client's own browser, invited by the lawyer and signed in through the emailed link."""
    with app.app_context():
        invite(contact_id, firm.lawyer)
    browser = app.test_client()
    response = use_link(browser, portal_path(mailbox, address))
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/")
    return browser


def ask_for_link(browser, email):
    return post(browser, "/portal/sign-in", {"email": email})


def client_payment(app, firm, browser_path, amount="400.00"):
    """Client A pays part of their request through a pay link; the payment's id."""
    response, _ = pay(app.test_client(), browser_path, amount)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        return db.session.scalars(db.select(Payment.id).order_by(Payment.id.desc())).first()


def request_number(request_id):
    return db.session.get(TrustRequest, request_id).number
