"""Steps the trust request tests share: a request made and emailed, the client's pay page, and what the books hold.

Call the gen_*/send_* steps inside an app context; the page steps take a test client.
"""

import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from tests.conftest import post
from tests.dates import card_expiry
from tests.factories import gen_account, gen_trust_setup, trust_ledger
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, JournalEntry, Matter, OutboxMessage, Payment, TrustRequest, User
from trustweb.models.base import utcnow
from trustweb.services import requests as request_service
from trustweb.services.delivery import deliver_due
from trustweb.services.trust import Holder, firm_today, record_deposit, record_disbursement

CHECKOUT = re.compile(r'name="checkout" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAYMENT_KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
BASE_URL = "http://localhost"
_SAME = object()


def gen_firm():
    """gen_trust_setup() plus the default operating account that card fees are paid from."""
    setup = gen_trust_setup()
    gen_account("Operating", kind="operating", is_default=True)
    return setup


def gen_request(
    setup,
    *,
    amount_cents=500_000,
    contact_id=None,
    matter_id=_SAME,
    by=None,
    allow_partial=False,
    minimum_cents=None,
    issued_on=None,
    due_on=None,
    recipients=("ada@example.com",),
    message="Retainer for the purchase of 12 Elm St.",
):
    """A draft request made through the service, by default for client A's first matter; returns its id."""
    contact_id = contact_id or setup.client_a
    matter_id = setup.matter_a1 if matter_id is _SAME else matter_id
    values = {
        "contact": db.session.get(Contact, contact_id),
        "matter": db.session.get(Matter, matter_id) if matter_id else None,
        "account": db.session.get(BankAccount, setup.account),
        "template": None,
        "amount_cents": amount_cents,
        "issued_on": issued_on or firm_today(),
        "due_on": due_on,
        "message": message,
        "allow_partial": allow_partial,
        "minimum_cents": minimum_cents,
        "recipients": list(recipients),
        "cc": [],
    }
    user = db.session.get(User, by or setup.lawyer)
    return request_service.create_request(values, user).id


def send(request_id, by):
    """The lawyer presses Send: the request is emailed with a new pay link, through the outbox."""
    trust_request = db.session.get(TrustRequest, request_id)
    request_service.send_request(trust_request, db.session.get(User, by))
    deliver_due()  # the worker sends it


def pay_path(mailbox, address="ada@example.com"):
    """The path of the pay link in the newest email to this address."""
    return mailbox.pay_link(mailbox.to(address)[-1]).removeprefix(BASE_URL)


def gen_sent_request(setup, mailbox, **fields):
    """A request emailed to client A; (its id, the pay link's path)."""
    request_id = gen_request(setup, **fields)
    send(request_id, fields.get("by") or setup.lawyer)
    return request_id, pay_path(mailbox, fields.get("recipients", ["ada@example.com"])[0])


def expire_links(request_id, days_ago=1):
    for link in db.session.get(TrustRequest, request_id).links:
        link.expires_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()


def pay_form(client, path):
    """Open the pay page: (html, csrf token, checkout key) as the browser holds them."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    return html, CSRF.search(html).group(1), CHECKOUT.search(html).group(1)


def card_details(amount, card=GOOD_CARD, **overrides):
    return {
        "amount": amount,
        "name": "Ada Archer",
        "email": "ada.receipts@example.com",
        "number": card,
        "expiry": card_expiry(),
        "cvc": "123",
        **overrides,
    }


def pay(client, path, amount, card=GOOD_CARD, checkout=None, **overrides):
    """Open the page, fill in the card and press Pay; (response, the form posted)."""
    _, csrf, fresh = pay_form(client, path)
    data = {"csrf_token": csrf, "checkout": checkout or fresh, **card_details(amount, card, **overrides)}
    return client.post(path, data=data), data


def text(response):
    return response.get_data(as_text=True)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def deposits():
    """Deposits in the trust journal."""
    return count(JournalEntry, JournalEntry.kind == "deposit")


def payments(status=None):
    return db.session.scalars(
        select(Payment).where(*([Payment.status == status] if status else [])).order_by(Payment.id)
    ).all()


def held_for(setup, contact_id=None, matter_id=_SAME):
    """What the trust account holds for client A's first matter (or the holder given): (balance, available)."""
    holder = Holder(contact_id or setup.client_a, setup.matter_a1 if matter_id is _SAME else matter_id)
    ledger = trust_ledger(setup.account, holder)
    return (ledger.balance_cents, ledger.available_cents) if ledger is not None else (0, 0)


def outbox(request_id, kind=None):
    where = [OutboxMessage.trust_request_id == request_id] + ([OutboxMessage.kind == kind] if kind else [])
    return db.session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id)).all()


def spend_and_fund_another_client(setup, spent_cents, other_cents):
    """Client A's money is partly paid out (a filing fee); client B has money in the same trust account."""
    account = db.session.get(BankAccount, setup.account)
    record_disbursement(
        account=account,
        holder=Holder(setup.client_a, setup.matter_a1),
        amount_cents=spent_cents,
        entry_date=firm_today(),
        payee="Clerk of Court",
        description="Filing fee",
        method="wire",
    )
    record_deposit(
        account=account,
        holder=Holder(setup.client_b, setup.matter_b1),
        amount_cents=other_cents,
        entry_date=firm_today(),
        method="wire",
        payer="Ben Baker",
    )


def refund(client, payment_id, amount, reason="Matter settled early", key=None, online=False):
    """A lawyer refunds from the request page (through Stripe when online); a fresh form key unless given."""
    data = {"amount": amount, "reason": reason, "key": key or secrets.token_urlsafe(24)}
    if online:
        data["online"] = "y"
    return post(client, f"/bills/payments/{payment_id}/refund", data, follow_redirects=True)
