"""The trust panel as staff use it: forms by htmx and by plain POST, refusals, permissions."""

import re

import pytest

from tests.conftest import post
from tests.dates import days_ago, iso, today
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from trustweb.extensions import db
from trustweb.models import AuditEvent, JournalEntry, JournalLine, LedgerAccount, Matter
from trustweb.services.books import check_books

HTMX = {"HX-Request": "true", "HX-Target": "trust-panel"}


@pytest.fixture
def firm(app, auth):
    """A lawyer signed in, a client with a matter, and the firm's trust account."""
    with app.app_context():
        lawyer = gen_user("lawyer", name="Eleanor Hartwell")
        client = gen_contact("James Alvarez")
        matter = gen_matter(client=client, lawyer=lawyer, description="Estate plan")
        other = gen_matter(client=client, lawyer=lawyer, description="House purchase")
        stranger = gen_matter(client=gen_contact("Patricia Patel"), lawyer=lawyer, description="Divorce")
        account = gen_account("IOLTA Trust", is_default=True)
    auth.login_as(lawyer)
    return {
        "lawyer": lawyer,
        "client": client,
        "matter": matter,
        "other": other,
        "stranger": stranger,
        "account": account,
    }


def url(firm, action="", matter="matter"):
    return f"/trust/matters/{firm[matter].id}{'/' + action if action else ''}?account={firm['account'].id}"


def fields(action, data):
    """Form data as the panel's prefixed form sends it."""
    return {f"{action}-{name}": value for name, value in data.items()}


def act(client, firm, action, data, headers=HTMX, matter="matter"):
    return post(client, url(firm, action, matter), fields(action, data), headers=headers)


def deposit(client, firm, amount="5,000.00", headers=HTMX, **fields):
    data = {
        "amount": amount,
        "entry_date": iso(today()),
        "method": "wire",
        "payer": "James Alvarez",
        "cleared": "y",
        **fields,
    }
    return act(client, firm, "deposit", data, headers=headers)


def books(app):
    with app.app_context():
        return {
            "entries": db.session.query(JournalEntry).count(),
            "lines": db.session.query(JournalLine).count(),
            "balances": sorted(
                (ledger.key, ledger.balance_cents, ledger.uncleared_cents)
                for ledger in db.session.scalars(db.select(LedgerAccount))
            ),
            "events": db.session.query(AuditEvent).count(),
        }


def balance_shown(html):
    return re.search(r'id="trust-balance">([^<]+)<', html).group(1)


def test_a_retainer_in_then_a_cheque_out_updates_the_panel_in_place(app, client, firm):
    response = deposit(client, firm)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card trust-panel" id="trust-panel"')
    assert "<html" not in html and balance_shown(html) == "$5,000.00"
    assert "JE-000001 recorded" in html

    response = act(
        client,
        firm,
        "disburse",
        {
            "amount": "1,250",
            "entry_date": iso(today()),
            "method": "cheque",
            "cheque_number": "1001",
            "payee": "County Recorder",
            "description": "Recording fee",
        },
        headers=HTMX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and balance_shown(html) == "$3,750.00"
    assert "Cheque 1001" in html and "$1,250.00" in html
    with app.app_context():
        assert check_books() == []


def test_without_javascript_a_deposit_redirects_back_to_the_ledger(app, client, firm):
    response = act(
        client,
        firm,
        "deposit",
        {"amount": "100", "entry_date": iso(today()), "method": "cash", "payer": "James", "cleared": "y"},
        headers={},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "JE-000001 recorded" in page and balance_shown(page) == "$100.00" and "<html" in page


def test_paying_more_than_is_held_is_refused_and_changes_nothing(app, client, firm):
    deposit(client, firm, amount="500")
    before = books(app)
    response = act(
        client,
        firm,
        "disburse",
        {"amount": "600", "entry_date": iso(today()), "method": "wire", "payee": "Someone", "description": "Too much"},
        headers=HTMX,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "holds $500.00; $600.00 cannot be taken from it" in html
    assert "<details open>" in html  # the form stays open with its message
    assert books(app) == before


def test_uncleared_money_waits_for_the_bank_unless_a_lawyer_gives_a_reason(app, client, firm):
    deposit(client, firm, amount="1000", cleared="")
    refused = act(
        client,
        firm,
        "disburse",
        {"amount": "100", "entry_date": iso(today()), "method": "wire", "payee": "Court", "description": "Fee"},
        headers=HTMX,
    )
    assert refused.status_code == 422 and "not cleared yet" in refused.get_data(as_text=True)
    html = refused.get_data(as_text=True)
    assert "Available to pay out" in html and re.search(r'id="trust-available">\$0.00<', html)
    allowed = act(
        client,
        firm,
        "disburse",
        {
            "amount": "100",
            "entry_date": iso(today()),
            "method": "wire",
            "payee": "Court",
            "description": "Fee",
            "override_reason": "Hearing tomorrow; client's bank confirmed",
        },
        headers=HTMX,
    )
    assert allowed.status_code == 200 and "Paid from uncleared funds" in allowed.get_data(as_text=True)


def test_transfer_to_the_same_clients_other_matter_and_to_another_client(app, client, firm):
    deposit(client, firm, amount="1000")
    same = act(
        client,
        firm,
        "transfer",
        {"amount": "300", "entry_date": iso(today()), "destination": f"matter:{firm['other'].id}"},
        headers=HTMX,
    )
    assert same.status_code == 200 and balance_shown(same.get_data(as_text=True)) == "$700.00"
    no_reason = act(
        client,
        firm,
        "transfer",
        {"amount": "100", "entry_date": iso(today()), "destination": f"matter:{firm['stranger'].id}"},
        headers=HTMX,
    )
    assert no_reason.status_code == 422 and "needs a stated reason" in no_reason.get_data(as_text=True)
    with_reason = act(
        client,
        firm,
        "transfer",
        {
            "amount": "100",
            "entry_date": iso(today()),
            "reason": "Court order",
            "destination": f"matter:{firm['stranger'].id}",
        },
        headers=HTMX,
    )
    assert with_reason.status_code == 200
    other = client.get(url(firm, matter="other")).get_data(as_text=True)
    assert balance_shown(other) == "$300.00"


def test_another_clients_matter_is_found_as_its_number_or_name_is_typed(app, client, firm):
    """Other clients' matters are never listed (a large firm's list would weigh megabytes on every matter page): the
    number is typed, and what is typed offers the first matching open matters."""
    deposit(client, firm, amount="1000")
    page = client.get(url(firm)).get_data(as_text=True)
    assert 'value="other"' in page and 'name="transfer-other_matter"' in page
    assert 'list="transfer-matter-options"' in page and '<datalist id="transfer-matter-options">' in page
    assert "Patricia Patel" not in page  # other clients' matters are not listed
    with app.app_context():
        number = db.session.get(Matter, firm["stranger"].id).number
    suggest = re.search(r'hx-get="(/trust/matter-numbers[^"]*)"', page).group(1).replace("&amp;", "&")
    offered = client.get(suggest + "&transfer-other_matter=patel", headers={"HX-Request": "true"})
    assert offered.status_code == 200
    assert f'<option value="{number}">Patricia Patel · Divorce</option>' in offered.get_data(as_text=True)
    own = client.get(suggest + "&transfer-other_matter=alvarez").get_data(as_text=True)
    assert "<option" not in own  # the client's own matters are in the list above, not among the others
    wrong = act(
        client,
        firm,
        "transfer",
        {
            "amount": "100",
            "entry_date": iso(today()),
            "reason": "Court order",
            "destination": "other",
            "other_matter": "1999",
        },
    )
    assert wrong.status_code == 422 and "Type the number of the matter" in wrong.get_data(as_text=True)
    done = act(
        client,
        firm,
        "transfer",
        {
            "amount": "100",
            "entry_date": iso(today()),
            "reason": "Court order",
            "destination": "other",
            "other_matter": number,
        },
    )
    assert done.status_code == 200 and balance_shown(done.get_data(as_text=True)) == "$900.00"
    assert balance_shown(client.get(url(firm, matter="stranger")).get_data(as_text=True)) == "$100.00"


def test_a_mistake_is_reversed_from_the_entry_page(app, client, firm):
    deposit(client, firm, amount="1000")
    act(
        client,
        firm,
        "disburse",
        {"amount": "990", "entry_date": iso(today()), "method": "wire", "payee": "Court", "description": "Filing fee"},
        headers=HTMX,
    )
    with app.app_context():
        mistake = db.session.scalar(db.select(JournalEntry).where(JournalEntry.kind == "disbursement"))
    page = client.get(f"/trust/entries/{mistake.id}").get_data(as_text=True)
    assert "Reverse JE-000002" in page
    no_reason = post(client, f"/trust/entries/{mistake.id}/reverse", {"reason": "", "entry_date": iso(today())})
    assert no_reason.status_code == 422 and "Say why." in no_reason.get_data(as_text=True)
    done = post(client, f"/trust/entries/{mistake.id}/reverse", {"reason": "Wrong amount", "entry_date": iso(today())})
    assert done.status_code == 303
    assert "JE-000002 is reversed by JE-000003" in client.get(done.headers["Location"]).get_data(as_text=True)
    ledger = client.get(url(firm)).get_data(as_text=True)
    assert balance_shown(ledger) == "$1,000.00" and "Reversed by JE-000003" in ledger
    again = post(client, f"/trust/entries/{mistake.id}/reverse", {"reason": "Again", "entry_date": iso(today())})
    assert again.status_code == 422 and "already reversed" in again.get_data(as_text=True)


def test_a_bookkeeper_clears_a_deposit_but_cannot_pay_out(app, client, auth, firm):
    deposit(client, firm, amount="1000", cleared="")
    auth.logout()
    with app.app_context():
        bookkeeper = gen_user("bookkeeper")
        entry_id = db.session.scalar(db.select(JournalEntry.id))
    auth.login_as(bookkeeper)
    panel = client.get(url(firm)).get_data(as_text=True)
    assert "Record a deposit" in panel and "Pay out" not in panel and "Transfer</summary>" not in panel
    cleared = post(client, f"/trust/entries/{entry_id}/clear", {"cleared_on": iso(today())}, follow_redirects=True)
    assert "is cleared" in cleared.get_data(as_text=True)
    assert re.search(r'id="trust-available">\$1,000.00<', client.get(url(firm)).get_data(as_text=True))
    refused = act(
        client,
        firm,
        "disburse",
        {"amount": "1", "entry_date": iso(today()), "method": "wire", "payee": "X", "description": "Y"},
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("htmx", [True, False])
def test_a_paralegal_records_a_cheque_but_cannot_say_the_bank_cleared_it(app, client, auth, firm, htmx):
    auth.logout()
    with app.app_context():
        paralegal = gen_user("staff", name="Pat Paralegal")
    auth.login_as(paralegal)
    panel = client.get(url(firm)).get_data(as_text=True)
    assert "Record a deposit" in panel and 'name="deposit-cleared"' not in panel
    before = books(app)

    # The box is not on the form; ticked anyway (an old page, a crafted post), the deposit is refused.
    refused = deposit(client, firm, amount="1000", cleared="y", headers=HTMX if htmx else {})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "You cannot mark money as cleared" in html
    assert books(app) == before

    recorded = deposit(client, firm, amount="1000", cleared="", headers=HTMX if htmx else {})
    assert recorded.status_code == (200 if htmx else 303)
    with app.app_context():
        entry = db.session.scalar(db.select(JournalEntry))
        assert entry.clearance is None
        matter_ledger = db.session.scalar(db.select(LedgerAccount).where(LedgerAccount.kind == "client"))
        assert (matter_ledger.balance_cents, matter_ledger.uncleared_cents) == (100_000, 100_000)


BAD_INPUT = [
    ("deposit", {"amount": ""}, "Enter an amount."),
    ("deposit", {"amount": "0"}, "more than zero"),
    ("deposit", {"amount": "-5"}, "cannot be negative"),
    ("deposit", {"amount": "1.234"}, "like 1,234.50"),
    ("deposit", {"amount": "1e3"}, "like 1,234.50"),
    ("deposit", {"amount": "99999999999"}, "cannot be more than"),
    ("deposit", {"payer": ""}, "Say who paid."),
    ("deposit", {"payer": "<script>alert(1)</script>"}, "HTML tags are not allowed"),
    ("deposit", {"method": "bitcoin"}, "Not a valid choice"),
    ("deposit", {"entry_date": "2999-01-01"}, "cannot be in the future"),
    ("deposit", {"entry_date": "yesterday"}, "Not a valid date"),
    ("deposit", {"reference": "x" * 101}, "longer than 100"),
    ("disburse", {"payee": ""}, "Say who is paid."),
    ("disburse", {"description": ""}, "Say what the payment is for."),
    ("disburse", {"method": "cheque", "cheque_number": ""}, "Enter the cheque number."),
    ("disburse", {"cheque_number": "12 34"}, "Letters, digits and - only."),
    ("disburse", {"amount": "10,000"}, "cannot be taken from it"),
    ("transfer", {"destination": ""}, "Choose where the money goes."),
    ("transfer", {"destination": "matter:999999"}, "Not a valid choice"),
    ("transfer", {"destination": "matter:abc"}, "Not a valid choice"),
]


@pytest.mark.parametrize(("action", "bad", "message"), BAD_INPUT)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_bad_input_on_every_trust_form(app, client, firm, action, bad, message, htmx):
    deposit(client, firm, amount="500")
    valid = {
        "deposit": {"amount": "10", "entry_date": iso(today()), "method": "wire", "payer": "James"},
        "disburse": {
            "amount": "10",
            "entry_date": iso(today()),
            "method": "wire",
            "payee": "Court",
            "description": "Fee",
        },
        "transfer": {"amount": "10", "entry_date": iso(today()), "destination": f"matter:{firm['other'].id}"},
    }[action]
    before = books(app)
    response = act(client, firm, action, {**valid, **bad}, headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert message in html
    assert "<script>alert" not in html
    assert books(app) == before


def test_ledger_pages_and_date_filter_by_htmx(app, client, firm):
    for n in range(55):
        deposit(client, firm, amount=str(n + 1), reference=f"R{n}")
    rows = client.get(url(firm) + "&page=2", headers={"HX-Request": "true", "HX-Target": "ledger-table"})
    html = rows.get_data(as_text=True)
    assert html.startswith('<div id="ledger-table"') and "Page 2 of 2" in html and "R0<" in html
    assert html.count("<tr>") + html.count('<tr class="">') >= 5
    none = client.get(
        url(firm) + "&from=2000-01-01&to=2000-12-31", headers={"HX-Request": "true", "HX-Target": "ledger-table"}
    )
    assert "No trust transactions in these dates." in none.get_data(as_text=True)
    odd = client.get(url(firm) + "&from=garbage&page=-1")
    assert odd.status_code == 200


def test_account_page_shows_journal_and_who_the_money_belongs_to(app, client, firm):
    deposit(client, firm, amount="1000")
    act(
        client,
        firm,
        "transfer",
        {"amount": "250", "entry_date": iso(today()), "destination": f"matter:{firm['other'].id}"},
        headers=HTMX,
    )
    page = client.get(f"/trust/accounts/{firm['account'].id}").get_data(as_text=True)
    assert 'id="account-balance">$1,000.00<' in page and 'id="account-held">$1,000.00<' in page
    assert "Matches the journal." in page
    assert "$750.00" in page and "$250.00" in page


def test_a_matter_of_another_client_cannot_be_reached_through_a_wrong_account(app, client, firm):
    operating = None
    with app.app_context():
        operating = gen_account("Operating", kind="operating", is_default=True)
    response = client.get(f"/trust/matters/{firm['matter'].id}?account={operating.id}")
    assert response.status_code == 404


def test_a_matter_holding_trust_money_cannot_be_closed_or_given_to_another_client(app, client, firm):
    deposit(client, firm, amount="10")
    page = post(client, f"/matters/{firm['matter'].id}/status", {"status": "closed"}, follow_redirects=True)
    assert "still holds $10.00 in trust" in page.get_data(as_text=True)
    with app.app_context():
        stranger_client = db.session.get(type(firm["stranger"]), firm["stranger"].id).client_id
    response = post(
        client,
        f"/matters/{firm['matter'].id}/edit",
        {
            "client_id": str(stranger_client),
            "lawyer_id": str(firm["lawyer"].id),
            "description": "Moved",
            "opened_on": iso(days_ago(365)),
        },
    )
    assert response.status_code == 422
    assert "its client cannot change" in response.get_data(as_text=True)


def test_a_cheque_with_a_reference_shows_both_on_the_ledger_as_on_the_reports(app, client, firm):
    deposit(client, firm)
    paid = {"amount": "100", "entry_date": iso(today()), "method": "cheque", "payee": "County Recorder"}
    act(client, firm, "disburse", {**paid, "cheque_number": "1042", "reference": "INV-7", "description": "Fee"})
    act(client, firm, "disburse", {**paid, "cheque_number": "1043", "description": "Stamp"})
    page = client.get(url(firm)).get_data(as_text=True)
    rows = client.get(url(firm), headers={"HX-Request": "true", "HX-Target": "ledger-table"}).get_data(as_text=True)
    for html in (page, rows):
        shown = re.findall(r'<td data-label="Reference">([^<]*)</td>', html)
        assert shown == ["Cheque 1043", "Cheque 1042 · INV-7", ""], shown
