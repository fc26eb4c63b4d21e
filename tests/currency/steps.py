"""A firm with two currencies: a USD trust and operating account, and a CAD trust and operating account.

Call the gen_* steps inside an app context; the page steps take a test client.
"""

import re
from dataclasses import dataclass

from sqlalchemy import select

from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.requests.steps import CHECKOUT, CSRF, card_details
from trustweb.extensions import db
from trustweb.ledger.keys import expense_key
from trustweb.models import BankAccount, Contact, LedgerAccount, Matter, TrustRequest, User
from trustweb.services import requests as request_service
from trustweb.services.trust import firm_today

# A dollar amount written without a currency before it: "$250.00" alone, not "CA$250.00".
BARE_DOLLARS = r"(?<![A-Z])\$"


@dataclass(frozen=True)
class TwoCurrencies:
    lawyer: int
    client: int
    matter: int
    usd_trust: int
    usd_operating: int
    cad_trust: int
    cad_operating: int


def gen_two_currencies(cad_operating=True):
    """The firm (in US dollars) with its USD accounts the defaults, a CAD trust account beside them and, unless
    told otherwise, a CAD operating account; one lawyer, one client, one matter."""
    lawyer = gen_user("lawyer")
    usd_trust = gen_account("Client Trust (USD)", is_default=True)
    usd_operating = gen_account("Operating (USD)", kind="operating", is_default=True)
    cad_trust = gen_account("Client Trust (CAD)", currency="CAD")
    cad_op = gen_account("Operating (CAD)", kind="operating", currency="CAD") if cad_operating else None
    client = gen_contact("Ada Archer", email="ada@example.com")
    matter = gen_matter(client, lawyer, description="Cross-border purchase")
    return TwoCurrencies(
        lawyer.id, client.id, matter.id, usd_trust.id, usd_operating.id, cad_trust.id, cad_op.id if cad_op else 0
    )


def gen_request(firm, account_id, amount_cents, **fields):
    """A trust request for the matter into this account, with a pay link; (request id, the link's path)."""
    values = {
        "contact": db.session.get(Contact, firm.client),
        "matter": db.session.get(Matter, firm.matter),
        "account": db.session.get(BankAccount, account_id),
        "template": None,
        "amount_cents": amount_cents,
        "issued_on": fields.get("issued_on") or firm_today(),
        "due_on": fields.get("due_on"),
        "message": "Retainer.",
        "allow_partial": fields.get("allow_partial", False),
        "minimum_cents": None,
        "recipients": ["ada@example.com"],
        "cc": [],
    }
    lawyer = db.session.get(User, firm.lawyer)
    trust_request = request_service.create_request(values, lawyer)
    url = request_service.copy_link(db.session.get(TrustRequest, trust_request.id), lawyer)
    return trust_request.id, "/" + url.split("/", 3)[3]


def pay_by_card(client, path, amount):
    """The client opens the link and pays by card (test processor); the response to Pay."""
    html = client.get(path).get_data(as_text=True)
    data = {"csrf_token": CSRF.search(html).group(1), "checkout": CHECKOUT.search(html).group(1)}
    return client.post(path, data={**data, **card_details(amount)})


def expenses(account_id):
    """What the operating account's processing-fees ledger holds (0 when it was never used)."""
    balance = db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.key == expense_key(account_id)))
    return balance or 0


def without_cad(text):
    """The page's text with every CA$ amount taken out: what is left must not hold the CAD figures as dollars."""
    return re.sub(r"CA\$[\d,]+\.\d\d", "", text)
