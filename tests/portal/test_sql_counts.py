"""The portal's pages run the same SQL statements for a client with two requests and a handful of trust lines as
for one with many more: what a page lists of each row is loaded with the rows, never one query per row."""

from sqlalchemy import select

from tests.portal.steps import ADA, signed_in_client
from tests.requests.steps import gen_request, send
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import BankAccount, LedgerAccount
from trustweb.services.trust import Holder, firm_today, record_deposit


def grow(firm, n):
    """n more requests sent to client A and n more deposits into each of A's matters."""
    account = db.session.get(BankAccount, firm.account)
    for k in range(n):
        send(gen_request(firm, amount_cents=10_000 + k), firm.lawyer)
        for matter in (firm.matter_a1, firm.matter_a2):
            record_deposit(
                account=account,
                holder=Holder(firm.client_a, matter),
                amount_cents=1_000 + k,
                entry_date=firm_today(),
                method="wire",
                payer="Ada Archer",
            )


def counts(app, browser, ledger):
    found = {}
    for name, url in (
        ("home", "/portal/"),
        ("documents", "/portal/documents"),
        ("statement", f"/portal/ledgers/{ledger}"),
    ):
        with statements(app) as seen:
            assert browser.get(url).status_code == 200
        found[name] = [s for s in seen if not s.startswith("BEGIN")]
    return found


def test_portal_pages_cost_the_same_however_much_the_client_has(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        grow(firm, 1)
        ledger = db.session.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.contact_id == firm.client_a, LedgerAccount.matter_id == firm.matter_a1
            )
        )
    small = counts(app, browser, ledger)
    with app.app_context():
        grow(firm, 12)
    large = counts(app, browser, ledger)
    for page in small:
        assert len(small[page]) == len(large[page]), (page, "\n".join(large[page]))
    # The session and the client in one statement; then the page's own reads.
    assert len(small["home"]) <= 8, "\n".join(small["home"])  # 8: the payment plans, one SELECT
    assert len(small["documents"]) <= 7, "\n".join(small["documents"])
