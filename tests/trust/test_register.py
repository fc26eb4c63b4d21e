"""An operating account's register: its entries newest first with the running balance, a page at a time, and the
whole of it as CSV; reached from the bank accounts' settings. It is the firm's own books (fees, processor fees,
transfers): admins and bookkeepers read it (permission read_operating), lawyers and staff are refused."""

import csv
import io
import re

import pytest

from tests.conftest import post
from tests.dates import days_ago, today
from tests.factories import gen_account, gen_user
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import BankAccount, JournalEntry
from trustweb.services.fees import book_shortfall, replace_shortfall
from trustweb.services.trust import firm_today

HTMX = {"HX-Request": "true"}


def put_back(trust_id, times, reference="WIRE-1", day=None):
    """A processor keeps $n from trust, and the firm puts it back from operating: n = 1, 2, ..."""
    account = db.session.get(BankAccount, trust_id)
    day = day or firm_today()
    for n in range(1, times + 1):
        book_shortfall(account, n * 100, day, f"Stripe fee {n}")
        replace_shortfall(db.session.get(BankAccount, trust_id), n * 100, day, reference=f"{reference}-{n}")


@pytest.fixture
def firm(app, auth):
    with app.app_context():
        bookkeeper = gen_user("bookkeeper")
        trust = gen_account("IOLTA Trust", is_default=True)
        operating = gen_account("Operating", kind="operating", is_default=True)
        put_back(trust.id, 3)
        ids = {"trust": trust.id, "operating": operating.id}
    auth.login_as(bookkeeper)
    return ids


def register_rows(html):
    """(entry, description, reference, in, out, balance) of each row of the register."""
    body = html.split('id="register-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            " ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        found.append(tuple(cells[1:]))
    return found


def test_an_operating_account_lists_its_entries_newest_first_with_the_running_balance(app, client, firm):
    response = client.get(f"/trust/accounts/{firm['operating']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Register" in html
    rows = register_rows(html)
    assert [row[2:] for row in rows] == [
        ("WIRE-1-3", "", "$3.00", "-$6.00"),
        ("WIRE-1-2", "", "$2.00", "-$3.00"),
        ("WIRE-1-1", "", "$1.00", "-$1.00"),
    ]
    assert rows[0][1].startswith("Processor fees and chargebacks replaced in IOLTA Trust")
    assert 'id="register-balance">-$6.00<' in html
    assert 'class="list ledger cards"' in html and 'data-label="Balance"' in html


def test_the_register_pages_by_links_and_htmx_gets_the_rows_alone(app, client, firm):
    with app.app_context():
        put_back(firm["trust"], 50, reference="MORE")
    first = client.get(f"/trust/accounts/{firm['operating']}").get_data(as_text=True)
    assert len(register_rows(first)) == 50 and "Older ›" in first
    older = re.search(r'href="([^"]+before=\d+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older, headers=HTMX).get_data(as_text=True)
    assert "<html" not in second and len(register_rows(second)) == 3 and "« Newest" in second


def test_the_whole_register_downloads_as_csv(app, client, firm):
    response = client.get(f"/trust/accounts/{firm['operating']}/register.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert lines[0] == ["Date", "Entry", "Description", "Paid by / to", "Cheque / reference", "In", "Out", "Balance"]
    assert [(row[4], row[6], row[7]) for row in lines[1:]] == [
        ("WIRE-1-1", "1.00", "-1.00"),
        ("WIRE-1-2", "2.00", "-3.00"),
        ("WIRE-1-3", "3.00", "-6.00"),
    ]
    assert client.get(f"/trust/accounts/{firm['trust']}/register.csv").status_code == 404


def test_an_account_with_no_entries_says_so(app, client, firm):
    with app.app_context():
        empty = gen_account("Payroll", kind="operating", currency="CAD")
    html = client.get(f"/trust/accounts/{empty.id}").get_data(as_text=True)
    assert "No money has moved through this account yet." in html
    lines = client.get(f"/trust/accounts/{empty.id}/register.csv").get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 1


def test_the_register_is_reached_from_the_bank_accounts(app, client, auth, firm):
    with app.app_context():
        admin = gen_user("admin")
    auth.login_as(admin)
    html = client.get("/settings/accounts").get_data(as_text=True)
    assert f'href="/trust/accounts/{firm["operating"]}" id="account-{firm["operating"]}-book">Register</a>' in html


@pytest.mark.parametrize("url", ["/trust/accounts/{id}", "/trust/accounts/{id}/register.csv"])
def test_the_register_needs_a_login(app, client, firm, url):
    client.get("/auth/logout")
    client.post("/auth/logout")
    with app.test_client() as anonymous:
        response = anonymous.get(url.format(id=firm["operating"]))
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


def test_the_register_runs_as_many_statements_for_a_long_one_as_for_a_short_one(app, client, firm):
    url = f"/trust/accounts/{firm['operating']}"
    with statements(app) as short:
        assert client.get(url).status_code == 200
    with app.app_context():
        put_back(firm["trust"], 60)
    with statements(app) as long:
        assert client.get(url).status_code == 200
    short, long = ([sql for sql in seen if not sql.startswith("BEGIN")] for seen in (short, long))
    assert len(short) == len(long) == 5, "\n".join(long)


@pytest.mark.parametrize("url", ["/trust/accounts/{id}", "/trust/accounts/{id}/register.csv"])
@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("lawyer", 403), ("admin", 200), ("bookkeeper", 200)])
def test_only_admins_and_bookkeepers_read_the_register(app, client, auth, firm, url, role, status):
    with app.app_context():
        user = gen_user(role)
    auth.login_as(user)
    response = client.get(url.format(id=firm["operating"]))
    assert response.status_code == status
    if status == 403:
        html = response.get_data(as_text=True)
        assert "Not allowed" in html and "WIRE-1" not in html
    # The trust account's own page stays open to every role.
    assert client.get(f"/trust/accounts/{firm['trust']}").status_code == 200


def test_an_entry_of_the_firms_own_books_is_read_only_by_those_who_read_the_register(app, client, auth, firm):
    with app.app_context():
        entry_id = db.session.query(JournalEntry.id).filter_by(bank_account_id=firm["operating"]).limit(1).scalar()
        trust_entry_id = db.session.query(JournalEntry.id).filter_by(bank_account_id=firm["trust"]).limit(1).scalar()
        staff, lawyer = gen_user("staff"), gen_user("lawyer")
    register_link = f'href="/trust/accounts/{firm["operating"]}"'
    assert register_link in client.get(f"/trust/entries/{entry_id}").get_data(as_text=True)
    for user in (staff, lawyer):
        auth.login_as(user)
        assert client.get(f"/trust/entries/{entry_id}").status_code == 403
        assert client.get(f"/trust/entries/{trust_entry_id}").status_code == 200  # trust money: everyone's to read
        # A refused reverse or clear shows the entry's page again: refused before that, so nothing of it is shown.
        for action in ("reverse", "clear"):
            answer = post(client, f"/trust/entries/{entry_id}/{action}", {"reason": "x"})
            assert answer.status_code == 403 and "WIRE-1" not in answer.get_data(as_text=True)


def test_a_register_page_is_labelled_with_its_earliest_and_latest_dates(app, client, firm):
    # Pages follow the order the entries were booked in; a back-dated one is booked last but dated first.
    with app.app_context():
        put_back(firm["trust"], 50, reference="MORE", day=days_ago(10))
        put_back(firm["trust"], 1, reference="LATE", day=days_ago(60))
    html = client.get(f"/trust/accounts/{firm['operating']}").get_data(as_text=True)
    pager = html.split('aria-label="Register pages"', 1)[1].split("</nav>", 1)[0]
    assert f"<span>{days_ago(60).isoformat()} to {days_ago(10).isoformat()}</span>" in pager
    older = re.search(r'href="([^"]+before=\d+)"', html).group(1).replace("&amp;", "&")
    pager = client.get(older, headers=HTMX).get_data(as_text=True).split('aria-label="Register pages"', 1)[1]
    assert f"<span>{days_ago(10).isoformat()} to {today().isoformat()}</span>" in pager
