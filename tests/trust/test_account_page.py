"""A trust account's page in a firm with more clients than fit on a page: who holds what, found by search, and the
journal a page at a time by links that keep showing the same lines."""

import re

import pytest

from tests.dates import days_ago, today
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.trust.steps import wire_in
from trustweb.extensions import db
from trustweb.models import BankAccount, JournalLine, LedgerAccount
from trustweb.services.fees import book_shortfall
from trustweb.services.trust import Holder, firm_today, record_deposit, record_disbursement

HTMX = {"HX-Request": "true"}
CLIENTS = 30  # more than a page (PAGE_SIZE 25)


@pytest.fixture
def firm(app, auth):
    """Thirty clients holding $1 to $30, and one whose matter was paid out to nothing; the lawyer signed in."""
    with app.app_context():
        lawyer = gen_user("lawyer", name="Eleanor Hartwell")
        account = gen_account("IOLTA Trust", is_default=True)
        clients = []
        for n in range(1, CLIENTS + 1):
            contact = gen_contact(f"Client {n:02d}")
            clients.append((contact, gen_matter(client=contact, lawyer=lawyer, description=f"Case {n}")))
            wire_in(account, *clients[-1], n * 100)
        settled = gen_contact("Zoe Settled")
        matter = gen_matter(client=settled, lawyer=lawyer, description="Settled sale")
        wire_in(account, settled, matter, 5_000)
        record_disbursement(
            account=db.session.get(BankAccount, account.id),
            holder=Holder(settled.id, matter.id),
            amount_cents=5_000,
            entry_date=firm_today(),
            payee="Zoe Settled",
            description="Settlement paid to client",
            method="wire",
        )
    auth.login_as(lawyer)
    return {"account": account, "first_client": clients[0][0], "first_matter": clients[0][1]}


def rows(html):
    return re.findall(r'<tr><td[^>]*>(?:<a href="[^"]+">)?([^<]+)(?:</a>)?</td><td class="num"[^>]*>([^<]+)</td>', html)


def test_who_holds_money_is_shown_a_page_at_a_time_with_the_whole_accounts_total(app, client, firm):
    account = firm["account"]
    page = client.get(f"/trust/accounts/{account.id}").get_data(as_text=True)
    held = rows(page)
    assert len(held) == 25 and held[0][0].startswith("Client 30 – ") and held[0][1] == "$30.00"  # largest first
    total = sum(range(1, CLIENTS + 1))  # dollars
    assert f'id="account-held">${total}.00<' in page and f'id="account-balance">${total}.00<' in page
    assert "Matches the journal." in page and "Page 1 of 2 · 30 in all" in page  # Zoe, paid out to nothing, is not
    assert ">Holding money (30)</option>" in page and ">Every ledger (31)</option>" in page

    second = client.get(f"/trust/accounts/{account.id}/ledgers?page=2", headers=HTMX).get_data(as_text=True)
    assert "<html" not in second and [name.split(" – ")[0] for name, _ in rows(second)] == [
        f"Client {n:02d}" for n in range(5, 0, -1)
    ]
    assert f'Held in the whole account</th><th class="num">${total}.00' in second


def test_a_client_is_found_by_name_or_matter_and_an_empty_ledger_on_asking_for_every_ledger(app, client, firm):
    account = firm["account"]
    found = client.get(f"/trust/accounts/{account.id}/ledgers?q=client 07", headers=HTMX).get_data(as_text=True)
    assert [amount for _, amount in rows(found)] == ["$7.00"]
    by_case = client.get(f"/trust/accounts/{account.id}/ledgers?q=Case 12", headers=HTMX).get_data(as_text=True)
    assert [amount for _, amount in rows(by_case)] == ["$12.00"]
    nothing = client.get(f"/trust/accounts/{account.id}/ledgers?q=Zoe", headers=HTMX).get_data(as_text=True)
    assert rows(nothing) == [] and "No ledger matches “Zoe”." in nothing
    every = client.get(f"/trust/accounts/{account.id}/ledgers?q=Zoe&show=all", headers=HTMX).get_data(as_text=True)
    assert [amount for _, amount in rows(every)] == ["$0.00"]
    # A search counts what it found with its page; past the last page it still says how many there are.
    found = client.get(f"/trust/accounts/{account.id}/ledgers?q=client&page=2", headers=HTMX).get_data(as_text=True)
    assert len(rows(found)) == 5 and "Page 2 of 2 · 30 in all" in found
    beyond = client.get(f"/trust/accounts/{account.id}/ledgers?q=client&page=9", headers=HTMX).get_data(as_text=True)
    assert rows(beyond) == [] and "30 in all" in beyond

    # Without JavaScript the search form's GET is a whole page, with the search kept in its box.
    page = client.get(f"/trust/accounts/{account.id}/ledgers?q=client 07&show=bogus")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'value="client 07"' in html
    assert '<option value="held" selected>' in html and len(rows(html)) == 1


def entries_in(html):
    return re.findall(r">(JE-\d+)</a>", html)


def test_the_journal_pages_by_links_that_keep_their_lines_when_more_are_booked(app, client, firm):
    account = firm["account"]
    with app.app_context():
        for _ in range(40):  # 72 lines in the bank ledger: a page of 50 and one of 22
            wire_in(account, firm["first_client"], firm["first_matter"], 1)
    first = client.get(f"/trust/accounts/{account.id}").get_data(as_text=True)
    entries = entries_in(first)
    assert len(entries) == 50 and "Page " not in first.split("<h2>Journal</h2>")[1]  # no count of every line
    older = re.search(r'href="(/trust/accounts/\d+\?before=\d+)"', first).group(1)
    second = client.get(older, headers=HTMX).get_data(as_text=True)
    second_entries = entries_in(second)
    assert len(second_entries) == 22 and "Older" not in second and "« Newest" in second
    assert not set(entries) & set(second_entries)

    # More money comes in: the older page's link still shows the same lines, and its "Newer" the page it came from.
    with app.app_context():
        late = gen_contact("Late Client")
        wire_in(account, late, gen_matter(client=late, description="Late case"), 100)
    assert entries_in(client.get(older, headers=HTMX).get_data(as_text=True)) == second_entries
    newer = re.search(r'href="(/trust/accounts/\d+\?after=\d+)"', second).group(1)
    back = client.get(newer, headers=HTMX).get_data(as_text=True)
    assert entries_in(back) == entries and "Newer" in back  # the late deposit is one page up
    assert len(entries_in(client.get(f"/trust/accounts/{account.id}").get_data(as_text=True))) == 50

    # A link made before the keyset (?page=2) still opens the second page by counting from the newest line.
    legacy = client.get(f"/trust/accounts/{account.id}?page=2").get_data(as_text=True)
    assert entries_in(legacy) == [entries[-1], *second_entries]


def test_a_journal_page_is_labelled_with_its_earliest_and_latest_dates(app, client, firm):
    # Pages follow the order the entries were booked in; a back-dated deposit is booked last but dated first.
    account, contact, matter = firm["account"], firm["first_client"], firm["first_matter"]
    with app.app_context():
        for _ in range(20):
            wire_in(account, contact, matter, 1)
        record_deposit(
            account=db.session.get(BankAccount, account.id),
            holder=Holder(contact.id, matter.id),
            amount_cents=100,
            entry_date=days_ago(40),
            method="cheque",
            payer=contact.name,
        )
    html = client.get(f"/trust/accounts/{account.id}").get_data(as_text=True)
    pager = html.split('aria-label="Journal pages"', 1)[1].split("</nav>", 1)[0]
    assert f"<span>{days_ago(40).isoformat()} to {today().isoformat()}</span>" in pager, pager


@pytest.mark.parametrize("query", ["before=abc", "after=-1", "before=99999999999"])
def test_a_journal_link_no_line_can_have_is_refused(client, firm, query):
    response = client.get(f"/trust/accounts/{firm['account'].id}?{query}")
    assert response.status_code == 400


def test_what_the_firm_owes_the_account_is_listed_and_the_page_still_matches_the_journal(app, client, firm):
    """A processor kept a $2.50 fee from a payout into trust: the bank holds less than the clients are owed, and the
    shortfall ledger says by how much."""
    account = firm["account"]
    with app.app_context():
        book_shortfall(db.session.get(BankAccount, account.id), 250, firm_today(), "Stripe fee kept from payout")
        db.session.commit()
        bank = db.session.scalar(db.select(LedgerAccount).where(LedgerAccount.kind == "bank"))
        assert bank.balance_cents == sum(range(1, CLIENTS + 1)) * 100 - 250
        assert db.session.scalar(db.select(db.func.count()).select_from(JournalLine)) > 0
    page = client.get(f"/trust/accounts/{account.id}").get_data(as_text=True)
    assert "Matches the journal." in page
    assert ("Owed by the firm to IOLTA Trust", "-$2.50") in rows(page)


def test_an_operating_account_has_no_client_ledgers_and_is_sent_to_the_settings(app, client, firm):
    """Its own page is its register (tests/trust/test_register.py)."""
    with app.app_context():
        operating = gen_account("Operating", kind="operating")
    response = client.get(f"/trust/accounts/{operating.id}/ledgers")
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings/accounts")
