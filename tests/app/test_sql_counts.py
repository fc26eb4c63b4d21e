"""How many SQL statements the hot pages run, counted per request so that N+1 loads and repeats cannot creep back.

Each page is counted in a small firm and in one ten times its size: the count is the same (no statement per
row), and it is the exact number below. BEGINs are counted apart (SQLite's are ours, PostgreSQL's are not
statements): a GET reads in a plain BEGIN, and a pay link seen before writes nothing at all.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.conftest import ON_POSTGRES
from tests.dates import days_ago
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Matter, TrustRequest, User
from trustweb.services import invoices as invoice_service
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.trust import Holder, firm_today, record_deposit

SMALL, LARGE = 3, 30  # matters (each with its client and a trust request); LARGE lists more rows than a page
# What one audit event costs when its transaction commits with the chain's head free: the head locked and
# moved, the event inserted, sealed.
AUDIT_EVENT = 3
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@dataclass
class Counted:
    """The statements a request ran (tests/statements.py), BEGINs apart."""

    seen: list[str]

    @property
    def run(self):
        return [s for s in self.seen if not s.startswith("BEGIN")]

    @property
    def begins(self):
        return [s.split("  @ ")[0] for s in self.seen if s.startswith("BEGIN")]

    @property
    def writes(self):
        return [s for s in self.run if WRITES.match(s)]

    def __str__(self):
        return "\n".join(f"{s[:90]} ... {s[s.index('  @ ') :]}" for s in self.run)


@dataclass(frozen=True)
class Firm:
    lawyer: int
    matter: int  # the signed-in lawyer's first matter, with 1 or 3 more requests and deposits (small, large)
    request: int  # a request on it with 1 or 3 payments
    pay_path: str  # a fresh pay link to another request, never opened
    invoice_path: str  # a pay link to a sent invoice
    receipt_path: str  # the receipt of one of the request's payments


def gen_firm(size):
    """A firm of `size` matters, two lawyers, 1 or 3 trust accounts; the rows every page lists grow with it."""
    lawyer, other = gen_user("lawyer"), gen_user("lawyer")
    accounts = [gen_account(f"Client Trust {n}", is_default=n == 0) for n in range(1 if size == SMALL else 3)]
    gen_account("Operating", kind="operating", is_default=True)
    account = db.session.get(BankAccount, accounts[0].id)
    requests = []
    for n in range(size):
        client = gen_contact(f"Client {n:02d}")
        matter = gen_matter(client, lawyer if n % 2 == 0 else other, opened_on=days_ago(size - n))
        requests.append(ask(matter, account, lawyer))
    matter = db.session.get(Matter, requests[0].matter_id)
    rows = size // 10 or 1  # what a matter's and a request's page list: 1 row in the small firm, 3 in the large
    for n in range(rows):
        record_deposit(
            account=account,
            holder=Holder(matter.client_id, matter.id),
            amount_cents=10_000 + n,
            entry_date=firm_today(),
            method="wire",
            payer="Client 00",
        )
        ask(matter, account, lawyer)
    shown = requests[0]
    user = db.session.get(User, lawyer.id)
    payments = [
        payment_service.record_manual_payment(
            shown,
            amount_cents=1_000,
            method="cheque" if n % 2 else "wire",
            received_on=firm_today(),
            reference=f"Cheque {n}",
            payer="Client 00",
            cleared=n % 2 == 0,
            idempotency_key=f"sql-count-payment-{n:08d}",
            user=user,
        )
        for n in range(rows)
    ]
    invoice = invoice_service.create_invoice(
        {
            "matter": matter,
            "issued_on": firm_today(),
            "due_on": None,
            "notes": None,
            "lines": [
                {
                    "line_date": days_ago(n + 1),
                    "description": f"Work {n}",
                    "kind": "fee",
                    "quantity_hundredths": 100,
                    "rate_cents": 20_000,
                }
                for n in range(rows)
            ],
        },
        user,
    )
    invoice_service.send_invoice(invoice, user)
    invoice_url = request_service.new_link(invoice, user)
    db.session.commit()
    shown = db.session.get(TrustRequest, shown.id)
    return Firm(
        lawyer=lawyer.id,
        matter=matter.id,
        request=shown.id,
        pay_path=path_of(request_service.copy_link(requests[1], user)),
        invoice_path=path_of(invoice_url),
        receipt_path=f"{path_of(request_service.copy_link(shown, user))}/receipts/{payments[0].receipt_number}",
    )


def ask(matter, account, lawyer):
    values = {
        "contact": db.session.get(Contact, matter.client_id),
        "matter": db.session.get(Matter, matter.id),
        "account": account,
        "template": None,
        "amount_cents": 500_000,
        "issued_on": firm_today(),
        "due_on": firm_today() + timedelta(days=14),
        "message": "Retainer.",
        "allow_partial": True,
        "minimum_cents": None,
        "recipients": ["client@example.com"],
        "cc": [],
    }
    trust_request = request_service.create_request(values, db.session.get(User, lawyer.id))
    request_service.copy_link(trust_request, db.session.get(User, lawyer.id))  # sent: it is listed as open
    return trust_request


def path_of(url):
    return "/" + url.split("/", 3)[3]


@pytest.fixture(params=[SMALL, LARGE], ids=["small firm", "large firm"])
def firm(request, app):
    with app.app_context():
        return gen_firm(request.param)


@pytest.fixture
def lawyer(firm, app, auth):
    with app.app_context():
        auth.login_as(db.session.get(User, firm.lawyer))


def get(app, client, path):
    """GET a page; the statements it ran."""
    with statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return Counted(seen)


def read_only(seen):
    """A GET that reads in a plain BEGIN (SQLite) and writes nothing."""
    assert seen.writes == []
    assert seen.begins == ([] if ON_POSTGRES else ["BEGIN"])


# Signed in: the session and its user (1); the firm's settings, once, however often a page asks (1).
SIGNED_IN = 2

STAFF_PAGES = {
    # page: (path, statements beyond SIGNED_IN)
    # my open matters with their clients, recent matters with their lawyers, the trust accounts with their
    # balances and last reconciliations, the three charts (what each trust account moved in each month since the
    # window's first month end; payments received per month and currency; open requests per age and currency,
    # which the tiles' figures are taken from too), the two counts, shortfalls, the matters below their evergreen
    # minimum with their clients and lawyers
    "dashboard": (lambda firm: "/", 9),
    # the matter with its client and lawyer, the trust panel (the account chosen, the ledger, the client's other
    # matters for a transfer (another client's is typed, and found as it is typed), the trust accounts, a page of
    # lines with its entries, their reversals and clearances, and its count), the requests, the invoices (and, for
    # a matter with an evergreen minimum, one more: what it holds in every trust account)
    "a matter": (lambda firm: f"/matters/{firm.matter}", 11),
    # the totals (with the count), a page of requests, their creators, clients, matters with lawyers, the lawyers
    "bills": (lambda firm: "/bills/", 6),
    # the request with its people, its links, payments with their entries, the entries' clearances, its emails
    "a request": (lambda firm: f"/bills/requests/{firm.request}", 5),
    "contacts": (lambda firm: "/contacts/", 2),  # a page of contacts with their number of matters, the count
    "matters": (lambda firm: "/matters/", 2),  # a page of matters with clients and lawyers, the count
}


def test_the_staff_pages_run_the_same_few_statements_in_any_firm(app, client, firm, lawyer):
    counted = {page: get(app, client, path(firm)) for page, (path, _) in STAFF_PAGES.items()}
    expected = {page: SIGNED_IN + statements for page, (_, statements) in STAFF_PAGES.items()}
    wrong = "\n\n".join(f"{page}:\n{seen}" for page, seen in counted.items() if len(seen.run) != expected[page])
    assert {page: len(seen.run) for page, seen in counted.items()} == expected, wrong
    for seen in counted.values():
        read_only(seen)


def test_the_clients_pages_read_in_a_few_selects_and_a_link_seen_before_writes_nothing(app, firm):
    first = get(app, app.test_client(), firm.pay_path)
    reads, writes = first.run[:2], first.run[2:]
    assert not any(WRITES.match(s) for s in reads), first
    # then, in a short transaction of its own, the request marked viewed (a conditional UPDATE), and audited
    assert len(writes) == 1 + AUDIT_EVENT and writes[0].startswith("UPDATE trust_request"), first
    assert first.begins == ([] if ON_POSTGRES else ["BEGIN", "BEGIN IMMEDIATE"])

    again = get(app, app.test_client(), firm.pay_path)  # the client opens it again, on another device
    assert len(again.run) == 2, again  # the link with its request, client, matter and account; the firm
    read_only(again)

    # the link; its invoice with client, matter and account; its lines; its trust applications; the firm; the
    # default trust account (whose processor keeps a card the client asks to save: a request's own account is
    # that one, and costs nothing more)
    invoice = get(app, app.test_client(), firm.invoice_path)
    assert len(invoice.run) == 6, invoice
    read_only(invoice)

    receipt = get(app, app.test_client(), firm.receipt_path)
    # the link with its request; the payment; whether the client has the portal; the firm
    assert len(receipt.run) == 4, receipt
    read_only(receipt)
