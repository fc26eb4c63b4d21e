"""The trust account's pages run the same SQL statements for a firm of three clients as for one of thirty with a
journal longer than a page: nothing is loaded per row, and nothing counts every line."""

import pytest

from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.statements import statements
from tests.trust.steps import wire_in

HTMX = {"HX-Request": "true"}


def grow(account, lawyer, clients, deposits_each):
    """More clients, each with a matter holding money from a few deposits."""
    for n in range(clients):
        contact = gen_contact()
        matter = gen_matter(client=contact, lawyer=lawyer, description=f"Case {n}")
        for _ in range(deposits_each):
            wire_in(account, contact, matter, 1_000)


@pytest.fixture
def firm(app, auth):
    with app.app_context():
        lawyer = gen_user("lawyer")
        account = gen_account("IOLTA Trust", is_default=True)
        grow(account, lawyer, 3, 17)  # 51 lines in the bank ledger: one more than the journal's page
    auth.login_as(lawyer)
    return {"account": account, "lawyer": lawyer}


# Each page: its address, its headers, and its statements. Every page reads the session with its user and the bank
# account (whose currency the money is written in); the whole page also the firm's settings (its letterhead); the
# account's page then its bank ledger and a page of the journal; who holds money is a page of ledgers, their contacts
# and matters (by id), and the account's totals with how many ledgers each filter lists (a search counts its matches
# with its page).
PAGES = {
    "the account": ("/trust/accounts/{id}", None, 9),
    "who holds money, searched": ("/trust/accounts/{id}/ledgers?q=client", HTMX, 6),
    "the journal's second page": ("/trust/accounts/{id}?page=2", HTMX, 4),
}


def run(app, client, url, headers):
    """The statements a GET ran, BEGINs apart (SQLite's are ours; on PostgreSQL the first statement begins)."""
    with statements(app) as seen:
        response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    return [sql for sql in seen if not sql.startswith("BEGIN")]


@pytest.mark.parametrize("name", PAGES)
def test_a_trust_account_page_runs_as_many_statements_for_thirty_clients_as_for_three(app, client, firm, name):
    path, headers, expected = PAGES[name]
    url = path.format(id=firm["account"].id)
    small = run(app, client, url, headers)
    with app.app_context():
        grow(firm["account"], firm["lawyer"], 27, 1)  # 30 clients, 78 lines in the bank ledger
    large = run(app, client, url, headers)
    assert len(small) == len(large), "\n".join(large)
    assert len(large) == expected, "\n".join(large)


def held_ledgers(account, lawyer, count):
    """Clients each holding money in a matter's ledger: a deposit each (the database refuses a balance that no entry
    put there), and nothing else."""
    for n in range(count):
        contact = gen_contact(f"Held client {n:04d}")
        wire_in(account, contact, gen_matter(client=contact, lawyer=lawyer, description=f"Held matter {n}"), 100 + n)


def test_the_account_page_is_as_long_and_as_costly_for_300_ledgers_as_for_3(app, client, firm):
    """The page lists a page of who holds money, never every ledger: the same statements and about the same bytes
    for 303 ledgers as for 3 (at bench scale, 10,000 ledgers once made a 1.6 MB page)."""
    url = f"/trust/accounts/{firm['account'].id}"
    few = run(app, client, url, None)
    small = client.get(url).get_data()
    with app.app_context():
        held_ledgers(firm["account"], firm["lawyer"], 300)
    many = run(app, client, url, None)
    large = client.get(url).get_data()
    assert len(few) == len(many), "\n".join(many)
    assert b"Page 1 of 13" in large  # 303 ledgers, 25 a page
    assert large.count(b'data-label="Ledger"') == 25
    assert len(large) < 60_000 and len(large) < len(small) + 15_000, (len(small), len(large))
