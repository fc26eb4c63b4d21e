"""A firm's last twelve months in two currencies, and the Dashboard's chart tables read back as a user would."""

from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

from tests.currency.steps import gen_request, gen_two_currencies
from tests.dates import days_ago, month_start
from trustweb.extensions import db
from trustweb.models import BankAccount, TrustRequest, User
from trustweb.services.payments import record_manual_payment
from trustweb.services.trust import FIRM, Holder, firm_today, record_deposit, record_disbursement


@dataclass(frozen=True)
class Year:
    lawyer: int
    usd_trust: int
    cad_trust: int


def deposit(account_id, holder, cents, day):
    record_deposit(
        account=db.session.get(BankAccount, account_id),
        holder=holder,
        amount_cents=cents,
        entry_date=day,
        method="wire",
        payer="Ada Archer",
    )


def pay_out(account_id, holder, cents, day):
    record_disbursement(
        account=db.session.get(BankAccount, account_id),
        holder=holder,
        amount_cents=cents,
        entry_date=day,
        payee="Land Registry",
        description="Registration fee",
        method="wire",
    )


def receive(firm, account_id, cents, day, key):
    """A request for this amount issued the month before, paid in full by cheque on this day."""
    request_id, _ = gen_request(firm, account_id, cents, issued_on=month_start(12))
    record_manual_payment(
        db.session.get(TrustRequest, request_id),
        amount_cents=cents,
        method="cheque",
        received_on=day,
        reference=key,
        payer="Ada Archer",
        idempotency_key=f"{key}-0000000000000000",
        user=db.session.get(User, firm.lawyer),
    )


def gen_year():
    """The USD account: $1,000.00 before the window, $500.00 in its first month, $300.00 paid out five months ago,
    a $400.00 cheque two months ago and $50.00 today; the CAD account: CA$2,000.00 three months ago and a CA$250.00
    cheque this month. Open requests: $100.00 not yet due, $200.00 5 days and $300.00 45 days past due, CA$400.00
    100 days past due."""
    firm = gen_two_currencies()
    client = Holder(firm.client, firm.matter)
    deposit(firm.usd_trust, client, 100_000, month_start(13) + timedelta(days=9))
    deposit(firm.usd_trust, client, 50_000, month_start(11) + timedelta(days=4))
    pay_out(firm.usd_trust, client, 30_000, month_start(5) + timedelta(days=9))
    receive(firm, firm.usd_trust, 40_000, month_start(2) + timedelta(days=2), "cheque-1")
    deposit(firm.usd_trust, FIRM, 5_000, firm_today())
    deposit(firm.cad_trust, client, 200_000, month_start(3))
    receive(firm, firm.cad_trust, 25_000, month_start(0), "cheque-2")
    for account, cents, due_on in [
        (firm.usd_trust, 10_000, firm_today() + timedelta(days=10)),
        (firm.usd_trust, 20_000, days_ago(5)),
        (firm.usd_trust, 30_000, days_ago(45)),
        (firm.cad_trust, 40_000, days_ago(100)),
    ]:
        gen_request(firm, account, cents, issued_on=days_ago(120), due_on=due_on)
    return firm


class _Tables(HTMLParser):
    """Each <figure>'s table: its header and rows, as the text a screen reader reads."""

    def __init__(self):
        super().__init__()
        self.figures: dict[str, list[list[str]]] = {}
        self.figure = None
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self.figure = dict(attrs).get("id")
            self.figures[self.figure] = []
        elif tag == "tr" and self.figure:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.figures[self.figure].append(self.row)
            self.row = None
        elif tag == "figure":
            self.figure = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def chart_tables(html):
    """{figure id: [header, row, ...]} for every chart on the page."""
    tables = _Tables()
    tables.feed(html)
    return tables.figures
