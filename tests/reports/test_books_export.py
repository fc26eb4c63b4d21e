"""The whole books out of TrustWeb, as an auditor would check them: bean-check accepts the beancount file, and every
ledger's balance rebuilt from it (and from the CSV) is TrustWeb's, to the cent, and what the reports show.

The firm's last month, through the services a person uses: USD and CAD trust accounts, each with its operating
account; retainers by wire and cheque (one cleared days later), a cheque paid out, a transfer to another client, a
deposit in error reversed, the firm's own money for a bank charge, card payments into both currencies with their
fees to operating, part of one refunded, an invoice sent and paid from trust, a bank fee the firm owes its trust
account, partly replaced. Clients' names with accents, quotes and a spreadsheet formula.
"""

import csv
import io
import os
import secrets
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.browser_support import real_clock
from tests.conftest import ON_POSTGRES
from tests.currency.steps import gen_request
from tests.dates import days_ago, today
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.invoices.steps import apply, invoice_for
from tests.statements import statements
from tests.trust.steps import wire_in
from trustweb.extensions import db
from trustweb.ledger.rules import NORMAL_SIGN, LedgerError, LedgerKind
from trustweb.models import BankAccount, JournalEntry, JournalLine, LedgerAccount, Matter, Payment, User
from trustweb.payments import CardDetails
from trustweb.refusals import ServiceError
from trustweb.services import books_export, fees, ledger_reports, refunds
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.books import check_books
from trustweb.services.reports import Filters
from trustweb.services.trust import (
    FIRM,
    Holder,
    firm_today,
    mark_cleared,
    record_deposit,
    record_disbursement,
    reverse,
    transfer,
)

BEAN_CHECK = Path(sys.executable).with_name("bean-check")
# Where an accountant expects each kind of ledger: money held for others is owed, so a liability.
ROOT_OF_KIND = {
    "bank": "Assets",
    "operating": "Assets",
    "receivable": "Assets",
    "client": "Liabilities",
    "firm": "Liabilities",
    "shortfall": "Liabilities",
    "income": "Income",
    "expense": "Expenses",
}


@dataclass(frozen=True)
class Firm:
    """Ids of the firm's accounts, lawyer, clients and matters (what tests/invoices/steps.py asks of a firm too)."""

    lawyer: int
    account: int  # the USD trust account
    usd_operating: int
    cad_trust: int
    cad_operating: int
    client: int  # Ada
    matter: int
    client_a: int
    matter_a1: int
    ben: int
    ben_matter: int
    zoe: int
    odd: int
    odd_matter: int


def pay_by_card(firm, account_id, cents):
    """Ada pays a trust request into the account by card (the pay page's service, test processor)."""
    _, path = gen_request(firm, account_id, cents)
    link = request_service.link_for_token(path.rsplit("/", 1)[1])
    card = CardDetails("4242424242424242", 12, firm_today().year + 2, "123", "Ada Archer")
    return payment_service.pay_by_card(link, cents, card, secrets.token_urlsafe(24))


def gen_books():
    """The month described above; returns the firm's ids."""
    lawyer = gen_user("lawyer")
    usd = gen_account("Client Trust (IOLTA)", is_default=True)
    usd_op = gen_account("Operating", kind="operating", is_default=True)
    cad = gen_account("Fiducie client (CAD)", currency="CAD")
    cad_op = gen_account("Opérations CAD", kind="operating", currency="CAD")
    ada, ben = gen_contact("Ada Archer", email="ada@example.com"), gen_contact("Ben Baker")
    zoe = gen_contact("Zoë O'Brien-Lefèvre")
    odd = gen_contact('=HYPERLINK("x") \\ "Quoted"')
    ada_matter, ben_matter = gen_matter(ada, lawyer), gen_matter(ben, lawyer)
    odd_matter = gen_matter(odd, lawyer)
    firm = Firm(
        lawyer.id,
        usd.id,
        usd_op.id,
        cad.id,
        cad_op.id,
        ada.id,
        ada_matter.id,
        ada.id,
        ada_matter.id,
        ben.id,
        ben_matter.id,
        zoe.id,
        odd.id,
        odd_matter.id,
    )
    usd, cad = db.session.get(BankAccount, usd.id), db.session.get(BankAccount, cad.id)
    ada_h, ben_h, zoe_h, odd_h = (
        Holder(ada.id, ada_matter.id),
        Holder(ben.id, ben_matter.id),
        Holder(zoe.id, None),
        Holder(odd.id, odd_matter.id),
    )

    def deposit(account, holder, cents, days, **fields):
        fields = {"method": "wire", "payer": "Payer", **fields}
        return record_deposit(account=account, holder=holder, amount_cents=cents, entry_date=days_ago(days), **fields)

    deposit(usd, ada_h, 1_000_000, 30, payer="Ada Archer", reference="Wire 8812")
    cheque = deposit(usd, ben_h, 250_000, 25, method="cheque", payer="Ben Baker", cleared=False)
    mark_cleared(cheque, cleared_on=days_ago(20))
    deposit(usd, zoe_h, 75_050, 24, payer="Zoë O'Brien-Lefèvre", description='Retainer "general" \\ funds')
    deposit(usd, odd_h, 10_001, 24, payer='=cmd|" /C calc"!A0')
    record_disbursement(
        account=usd,
        holder=ada_h,
        amount_cents=120_000,
        entry_date=days_ago(22),
        payee="Clerk of Court",
        description="Filing fee",
        cheque_number="1001",
    )
    transfer(account=usd, source=ada_h, destination=ben_h, amount_cents=30_000, entry_date=days_ago(21), reason="Split")
    mistake = deposit(usd, ben_h, 9_999, 20, payer="Ben Baker")
    reverse(db.session.get(JournalEntry, mistake.id), reason="Wrong client", entry_date=days_ago(19))
    deposit(usd, FIRM, 5_000, 18, payer="The firm", description="Firm funds for bank charges")
    record_disbursement(
        account=usd, holder=FIRM, amount_cents=1_200, entry_date=days_ago(17), payee="Bank", description="Charge"
    )
    deposit(cad, ada_h, 500_000, 15, payer="Ada Archer")
    record_disbursement(
        account=cad, holder=ada_h, amount_cents=45_500, entry_date=days_ago(14), payee="Notaire", description="Acte"
    )
    usd_card = pay_by_card(firm, usd.id, 150_000)
    pay_by_card(firm, cad.id, 80_000)
    refunds.refund_payment(
        db.session.get(Payment, usd_card.id),
        20_000,
        online=False,
        reason="Overpaid",
        user=db.session.get(User, lawyer.id),
        idempotency_key=secrets.token_urlsafe(24),
    )
    invoice = invoice_for(firm, 150, 40_000)  # 1.5 hours at $400: $600 owed to operating
    apply(firm, invoice, 60_000)
    fees.book_shortfall(db.session.get(BankAccount, usd.id), 2_500, days_ago(5), "Bank service fee")
    db.session.commit()
    fees.replace_shortfall(db.session.get(BankAccount, usd.id), 1_000, days_ago(4))
    db.session.commit()
    # Sound books; check-books still names the $15.00 the firm owes its trust account, as it should.
    assert [problem for problem in check_books() if "must replace $15.00" not in problem] == []
    return firm


@pytest.fixture
def books(app):
    with app.app_context():
        return gen_books()


def bean_check(path):
    """bean-check on the file, as an auditor runs it: (exit code, what it printed). It runs on the real clock and is
    waited for without a timeout: under CI's moved clock (libfaketime) a timed wait sleeps, which fails (EINVAL)."""
    run = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, env=real_clock())
    return run.returncode, (run.stdout + run.stderr).strip()


def final_balances(entries):
    """{account: {currency: Decimal}}: every posting of the file added up, as an auditor would."""
    totals = defaultdict(lambda: defaultdict(Decimal))
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                totals[posting.account][posting.units.currency] += posting.units.number
    return totals


def cents(amount):
    return int(amount * 100)


def loaded(text):
    """The beancount file loaded as bean-check loads it: (entries, errors, options)."""
    return loader.load_string(text)


def ledgers_by_key():
    return {ledger.key: ledger for ledger in db.session.scalars(select(LedgerAccount))}


def test_every_ledger_kind_sits_under_the_root_its_natural_sign_calls_for():
    for kind in LedgerKind:
        assert (books_export.ROOTS[kind][0] in books_export.DEBIT_ROOTS) == (NORMAL_SIGN[kind] == 1), kind


@pytest.mark.parametrize(
    ("text", "component"),
    [
        ("Client Trust (IOLTA)", "Client-Trust-IOLTA"),
        ("12 zoë o'brien-lefèvre", "12-Zoe-O-Brien-Lefevre"),
        ("2026-0042", "2026-0042"),
        ('=HYPERLINK("x") \\ "Quoted"', "HYPERLINK-X-Quoted"),
        ("東京", "Fallback"),
    ],
)
def test_a_name_becomes_a_beancount_component(text, component):
    assert books_export.component(text, "Fallback") == component


def test_bean_check_accepts_the_books_and_every_balance_is_trustwebs(app, client, bookkeeper, books, tmp_path):
    response = client.get("/reports/books.beancount")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="books-{today().isoformat()}.beancount"'
    path = tmp_path / "books.beancount"
    path.write_bytes(response.get_data())
    if dump := os.environ.get("BOOKS_EXPORT_DUMP"):  # to read the file a test made
        Path(dump).write_bytes(path.read_bytes())
    code, printed = bean_check(path)
    assert (code, printed) == (0, "")

    entries, errors, options = loader.load_file(str(path))
    assert errors == []
    assert options["operating_currency"] == ["CAD", "USD"]
    opens = {entry.account: entry for entry in entries if isinstance(entry, data.Open)}
    assertions = [entry for entry in entries if isinstance(entry, data.Balance)]
    balances = final_balances(entries)
    with app.app_context():
        ledgers = ledgers_by_key()
        moved = set(db.session.scalars(select(JournalLine.ledger_account_id).distinct()))
        # One transaction per journal entry, each naming it once.
        numbers = [entry.meta["entry"] for entry in entries if isinstance(entry, data.Transaction)]
        assert sorted(numbers) == sorted(e.number for e in db.session.scalars(select(JournalEntry)))
        # Every ledger that moved is opened once, in its bank account's currency, and ends on TrustWeb's balance.
        assert sorted(open.meta["key"] for open in opens.values()) == sorted(
            ledger.key for ledger in ledgers.values() if ledger.id in moved
        )
        assert len(assertions) == len(opens)
        for account, open in opens.items():
            ledger = ledgers[open.meta["key"]]
            currency = ledger.bank_account.currency
            assert open.currencies == [currency]
            assert dict(balances[account]) == {currency: Decimal(NORMAL_SIGN[ledger.kind] * ledger.balance_cents) / 100}
            assert account.split(":")[0] == ROOT_OF_KIND[ledger.kind]
        by_key = {open.meta["key"]: account for account, open in opens.items()}

        def natural(key):
            ledger = ledgers[key]
            (amount,) = balances[by_key[key]].values()
            return NORMAL_SIGN[ledger.kind] * cents(amount)

        # The reports' figures: each trust account's journal and client balances, and each client ledger.
        for account in db.session.scalars(select(BankAccount).where(BankAccount.kind == "trust")):
            report = ledger_reports.client_balances(Filters(account=account), firm_today())
            summary = {label: value for label, value, _ in report.summary}
            assert natural(f"bank:{account.id}") == summary["Trust account journal balance"]
            held = [key for key in by_key if ledgers[key].bank_account_id == account.id and ledgers[key].kind != "bank"]
            assert sum(natural(key) for key in held) == summary["Total of all client ledgers"]
            assert ledger_reports.journal_totals(Filters(account=account))["closing"] == natural(f"bank:{account.id}")
            for key in held:
                ledger = ledgers[key]
                if ledger.kind != "client":
                    continue
                filters = Filters(account=account, matter=ledger.matter, contact=ledger.contact)
                closing = ledger_reports.client_ledger(filters, firm_today()).totals["balance"]
                assert natural(key) == closing, key
    # The figures an auditor checks by hand: Ada's USD matter, the CAD bank, the firm's fees in each currency.
    assert balances["Liabilities:Trust:Client-Trust-IOLTA:Clients"] == {}  # no posting to a parent account
    zoe = [account for account in opens if ":Clients:" in account and "Zoe-O-Brien-Lefevre" in account]
    assert len(zoe) == 1 and zoe[0].endswith(":Client-Funds")
    assert balances[zoe[0]] == {"USD": Decimal("-750.50")}
    assert balances["Assets:Trust:Fiducie-Client-CAD:Bank"] == {"CAD": Decimal("5345.00")}  # 5,000 - 455 + 800
    assert "Expenses:Operations-CAD:Processing-Fees" in balances and "Income:Operating:Fees" in balances
    assert balances["Income:Operating:Fees"] == {"USD": Decimal("-600.00")}


def test_each_trust_accounts_ledgers_add_up_to_its_bank_in_the_file_alone(app, client, bookkeeper, books):
    """Invariant 4 rebuilt from the beancount file with no help from TrustWeb: under Assets:Trust:<bank> and
    Liabilities:Trust:<bank> the postings of each currency add up to zero."""
    entries, errors, _ = loaded(client.get("/reports/books.beancount").get_data(as_text=True))
    assert errors == []
    per_bank = defaultdict(Decimal)
    for account, amounts in final_balances(entries).items():
        root, kind, bank, *_ = account.split(":") + ["", ""]
        if kind == "Trust":
            per_bank[bank] += sum(amounts.values())
    assert set(per_bank) == {"Client-Trust-IOLTA", "Fiducie-Client-CAD"} and set(per_bank.values()) == {0}


def read_books_csv(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="books-{today().isoformat()}.csv"'
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    assert tuple(header) == books_export.CSV_HEADER
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_csv_has_every_line_once_with_its_ledger(app, client, bookkeeper, books):
    rows = read_books_csv(client.get("/reports/books.csv"))
    with app.app_context():
        lines = {line.id: line for line in db.session.scalars(select(JournalLine))}
        assert sorted(int(row["Line id"]) for row in rows) == sorted(lines)
        assert [int(row["Entry id"]) for row in rows] == sorted(int(row["Entry id"]) for row in rows)  # entry order
        for row in rows:
            line = lines[int(row["Line id"])]
            ledger, entry = line.ledger_account, line.entry
            assert (row["Ledger key"], row["Ledger kind"], row["Currency"]) == (
                ledger.key,
                ledger.kind,
                ledger.bank_account.currency,
            )
            assert row["Bank account"] == ledger.bank_account.name
            assert row["Contact id"] == (str(ledger.contact_id) if ledger.contact_id else "")
            assert row["Matter"] == (ledger.matter.number if ledger.matter else "")
            assert (row["Entry"], row["Date"]) == (entry.number, entry.entry_date.isoformat())
            assert int(row["Amount in cents (debit +)"]) == line.amount_cents
            assert Decimal(row["Amount (debit +)"]) * 100 == line.amount_cents
            assert Decimal(row["Ledger balance after"]) * 100 == line.balance_after_cents
            assert row["Reverses"] == (entry.reverses.number if entry.reverses else "")
            assert row["Cleared on"] == (entry.clearance.cleared_on.isoformat() if entry.clearance else "")
        # Each ledger's changes add up to its balance, and its last row's running balance is that balance.
        added, last = defaultdict(int), {}
        for row in rows:
            added[row["Ledger key"]] += cents(Decimal(row["Change to the ledger's balance"]))
            last[row["Ledger key"]] = cents(Decimal(row["Ledger balance after"]))
        ledgers = ledgers_by_key()
        assert added == {key: ledgers[key].balance_cents for key in added} == last
        # Each entry's lines add up to zero.
        per_entry = defaultdict(int)
        for row in rows:
            per_entry[row["Entry"]] += int(row["Amount in cents (debit +)"])
        assert set(per_entry.values()) == {0}
        matter = db.session.get(Matter, books.ben_matter).number
    ben = [row for row in rows if row["Matter"] == matter]
    assert {row["Client"] for row in ben} == {"Ben Baker"}
    assert [row["Kind"] for row in ben] == ["Deposit", "Transfer", "Deposit", "Reversal"]
    assert ben[0]["Cleared on"] == days_ago(20).isoformat() and ben[3]["Reverses"] == ben[2]["Entry"]
    # Text the client typed never runs as a spreadsheet formula.
    assert not any(cell[:1] in "=+@" for row in rows for cell in row.values() if cell)
    assert any(row["Client"].startswith("'=HYPERLINK") for row in rows)


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("bookkeeper", True), ("lawyer", False), ("staff", False)]
)
def test_the_whole_books_are_for_the_bookkeeper_and_the_admin(app, client, auth, books, role, allowed):
    with app.app_context():
        auth.login_as(gen_user(role))
    for url in ("/reports/books", "/reports/books.csv", "/reports/books.beancount"):
        assert client.get(url).status_code == (200 if allowed else 403), url
    index = client.get("/reports/").get_data(as_text=True)
    assert ('href="/reports/books"' in index) == allowed


def test_an_entry_booked_while_the_file_streams_is_not_half_in_it(app, books):
    """The export reads one snapshot: an entry committed after it began is in neither its lines nor its balances."""
    with app.test_request_context(method="GET"):
        chunks = books_export.beancount_text(firm_today())
        first = next(chunks)  # the ledgers are read: the snapshot is taken
        with app.app_context():  # another person, another session, books a deposit meanwhile
            record_deposit(
                account=db.session.get(BankAccount, books.account),
                holder=Holder(books.client, books.matter),
                amount_cents=12_345,
                entry_date=firm_today(),
                method="wire",
                payer="Ada Archer",
            )
        text = first + "".join(chunks)
    _, errors, _ = loaded(text)
    assert errors == []
    assert "123.45" not in text


def count_statements(app, client, url):
    with statements(app) as seen:
        response = client.get(url)
        body = response.get_data()
    assert response.status_code == 200 and body
    return [sql for sql in seen if not sql.startswith("BEGIN")]


# The statements of each download: the signed-in session and the firm's settings (its today, for the file's name);
# then, in the export's snapshot, every ledger's first and last dates, the ledgers with their accounts, contacts and
# matters, and the lines (on PostgreSQL streamed by psycopg itself, so not counted here); the beancount file reads
# the firm's name again, in the snapshot.
STATEMENTS = {"/reports/books.csv": 5, "/reports/books.beancount": 6}


@pytest.mark.parametrize("url", STATEMENTS)
def test_the_export_runs_as_many_statements_for_a_long_journal_as_for_a_short_one(app, client, bookkeeper, books, url):
    small = count_statements(app, client, url)
    assert len(small) == STATEMENTS[url] - ON_POSTGRES, "\n".join(small)
    with app.app_context():
        lawyer, account = db.session.get(User, books.lawyer), db.session.get(BankAccount, books.account)
        for n in range(12):  # more clients, matters and lines
            contact = gen_contact(f"Client {n}")
            matter = gen_matter(contact, lawyer)
            for _ in range(3):
                wire_in(account, contact, matter, 1_000)
    large = count_statements(app, client, url)
    assert len(small) == len(large), "\n".join(large)


# Random days of a firm with two clients' matters in a USD and a CAD trust account: deposits, payments out and
# transfers between clients (refused ones, an overdraft, are simply not booked).
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "disburse", "transfer"]),
        st.sampled_from(["USD", "CAD"]),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=1, max_value=300_000),
        st.integers(min_value=0, max_value=40),
    ),
    min_size=1,
    max_size=12,
)
RANDOM_FIRM: list = []


def gen_random_firm():
    lawyer = gen_user("lawyer")
    usd, cad = gen_account("Trust US"), gen_account("Trust-US", currency="CAD")  # one name once sanitised
    clients = [gen_contact(name) for name in ("Ada Archer", "Ada Archer", "Émile Zola")]
    holders = [Holder(c.id, gen_matter(c, lawyer).id) for c in clients[:2]] + [Holder(clients[2].id, None)]
    return {"USD": usd.id, "CAD": cad.id, "holders": holders}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_random_days_export_to_a_clean_file_whose_balances_are_trustwebs(app, operations):
    with app.app_context():
        # The test's database lives through its examples: the first makes the firm, the others add to its books.
        made = db.session.scalar(select(BankAccount).where(BankAccount.name == "Trust-US"))
        firm = RANDOM_FIRM[0] if made is not None else gen_random_firm()
        RANDOM_FIRM[:] = [firm]
        for kind, currency, source, destination, cents_, days in operations:
            account = db.session.get(BankAccount, firm[currency])
            holder, other = firm["holders"][source], firm["holders"][destination]
            on = days_ago(days)
            try:
                if kind == "deposit":
                    record_deposit(
                        account=account, holder=holder, amount_cents=cents_, entry_date=on, method="wire", payer="P"
                    )
                elif kind == "disburse":
                    record_disbursement(
                        account=account, holder=holder, amount_cents=cents_, entry_date=on, payee="P", description="D"
                    )
                else:
                    transfer(
                        account=account,
                        source=holder,
                        destination=other,
                        amount_cents=cents_,
                        entry_date=on,
                        reason="R",
                    )
            except (LedgerError, ServiceError):
                db.session.rollback()
        with app.test_request_context(method="GET"):
            text = "".join(books_export.beancount_text(firm_today()))
            expected = {
                ledger.key: {ledger.bank_account.currency: NORMAL_SIGN[ledger.kind] * ledger.balance_cents}
                for ledger in ledgers_by_key().values()
            }
    entries, errors, _ = loaded(text)
    assert errors == []
    opens = {entry.account: entry.meta["key"] for entry in entries if isinstance(entry, data.Open)}
    rebuilt = {
        opens[account]: {currency: cents(amount) for currency, amount in amounts.items()}
        for account, amounts in final_balances(entries).items()
    }
    assert rebuilt == {key: amounts for key, amounts in expected.items() if key in rebuilt}
    assert len(rebuilt) == len(opens)
    assert all(set(amounts.values()) == {0} for key, amounts in expected.items() if key not in rebuilt)


def test_an_empty_firm_exports_an_empty_but_valid_file(app, client, bookkeeper):
    entries, errors, _ = loaded(client.get("/reports/books.beancount").get_data(as_text=True))
    assert errors == [] and entries == []
    assert read_books_csv(client.get("/reports/books.csv")) == []


def test_a_balance_is_asserted_the_day_after_the_ledgers_last_line(app, client, bookkeeper, books):
    entries, _, _ = loaded(client.get("/reports/books.beancount").get_data(as_text=True))
    last = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                last[posting.account] = max(last.get(posting.account, entry.date), entry.date)
    for entry in entries:
        if isinstance(entry, data.Balance):
            assert entry.date == last[entry.account] + timedelta(days=1)


def test_any_text_a_person_typed_reads_back_from_the_file_as_typed():
    """Quotes and backslashes survive; a line break or another control character becomes a space."""
    typed = 'O\'Brien "the elder" \\ co.\r\nline two\x00\ttab'
    text = f'2026-01-02 * {books_export.quoted(typed)} "x"\n  Assets:A  1.00 USD\n  Assets:B  -1.00 USD\n'
    entries, errors, _ = loaded("2026-01-01 open Assets:A\n2026-01-01 open Assets:B\n" + text)
    assert errors == []
    assert entries[-1].payee == 'O\'Brien "the elder" \\ co. line two tab'
