"""An id no row of ours can have (2**31 and beyond: the integer columns stop at 2**31 - 1) is a 404 in an address and
a 4xx with the reason in a form or the query string, never a 500. PostgreSQL refuses to compare such a number with
an integer column (NumericValueOutOfRange); SQLite goes along; both must answer the same."""

import pytest
from werkzeug.routing import IntegerConverter

from tests.app.test_forms import snapshot, valid_forms, world  # noqa: F401  (world is a fixture)
from tests.conftest import make_config, post
from tests.dates import days_ago, iso, today
from trustweb import create_app
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Matter, TrustRequest, User
from trustweb.services import requests as request_service
from trustweb.services import statements

LARGEST = 2**31 - 1
TOO_BIG = ("2147483648", "9223372036854775808", "1" + "0" * 30)


def id_rules():
    """Every address that takes an id, with each method it answers: new routes are covered as they are added."""
    app = create_app(make_config("sqlite://"))
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}) if ids else ():
            yield pytest.param(rule.rule, ids, method, id=f"{method} {rule.rule}")


@pytest.mark.parametrize(("rule", "ids", "method"), list(id_rules()))
def test_an_address_with_an_id_too_large_is_a_404(client, admin, rule, ids, method):
    for value in (*TOO_BIG, "0"):
        url = rule
        for name in ids:
            url = url.replace(f"<int:{name}>", value)
        response = client.get(url) if method == "GET" else post(client, url)
        assert response.status_code == 404, (url, response.get_data(as_text=True)[:1000])
        assert "Not found" in response.get_data(as_text=True)


def test_the_largest_id_is_still_an_id(client, admin):
    """The last id a row can have reaches the view (which finds nothing): the bound is the columns', not lower."""
    with client.application.test_request_context():
        adapter = client.application.url_map.bind("localhost")
        assert adapter.match(f"/contacts/{LARGEST}") == ("contacts.show", {"contact_id": LARGEST})
    assert client.get(f"/contacts/{LARGEST}").status_code == 404


QUERY_URLS = (
    "/bills/?lawyer={}",
    "/bills/invoices/batch?lawyer={}",
    "/bills/requests/new?contact_id={}",
    "/bills/requests/new?matter_id={}",
    "/bills/requests/new?account_id={}",
    "/bills/invoices/new?matter_id={}",
    "/matters/new?client_id={}",
    "/trust/matters/{matter}?account={}",
    "/trust/clients/{contact}?account={}",
    "/reports/journal?account={}",
    "/reports/balances?lawyer={}",
    "/reports/client-ledger?client={}",
    "/audit/?user={}",
)


@pytest.mark.parametrize("url", QUERY_URLS)
def test_a_query_id_too_large_is_a_400_that_says_so(client, world, url):  # noqa: F811
    for value in TOO_BIG:
        response = client.get(url.format(value, matter=world["matter"].id, contact=world["contact"].id))
        html = response.get_data(as_text=True)
        assert response.status_code == 400, (value, html[:1000])
        assert "cannot exist" in html or "from the list" in html, html


def test_a_list_filter_left_at_any_is_no_filter(client, world):  # noqa: F811
    assert client.get("/bills/?lawyer=&status=all").status_code == 200
    assert client.get("/bills/invoices/batch?lawyer=").status_code == 200
    assert client.get(f"/matters/new?client_id={world['contact'].id}").status_code == 200


@pytest.fixture
def more(app, world):  # noqa: F811
    """A draft request to edit and a typed statement to tick entries on, beside the forms' world."""
    with app.app_context():
        admin = db.session.get(User, world["admin"].id)
        draft = request_service.create_request(
            {
                "contact": db.session.get(Contact, world["contact"].id),
                "matter": db.session.get(Matter, world["matter"].id),
                "account": db.session.get(BankAccount, world["account"].id),
                "template": None,
                "amount_cents": 150_000,
                "issued_on": days_ago(2),
                "due_on": today(),
                "message": None,
                "allow_partial": False,
                "minimum_cents": None,
                "recipients": ["grace@example.com"],
                "cc": [],
            },
            admin,
        )
        statement = statements.type_statement(
            db.session.get(BankAccount, world["account"].id),
            period_start=days_ago(40),
            period_end=days_ago(10),
            ending_balance_cents=0,
            user=admin,
        )
        db.session.commit()
        return {"request": draft.id, "statement": statement.id}


def form_cases():
    for field in ("contact_id", "matter_id", "account_id", "template_id"):
        yield "/bills/requests/new", field
        yield "edit-request", field
    for field in ("client_id", "lawyer_id"):
        yield "/matters/new", field
        yield "edit-matter", field
    yield "/bills/invoices/new", "matter_id"
    yield "/bills/invoices/batch", "lawyer"
    yield "transfer", "transfer-destination"
    yield "tick", "entry_id"


@pytest.mark.parametrize(("form", "field"), [pytest.param(f, n, id=f"{f}:{n}") for f, n in form_cases()])
def test_a_form_id_too_large_is_refused_with_a_reason(app, client, world, more, form, field):  # noqa: F811
    forms = valid_forms(world)
    matter = world["matter"].id
    payloads = {
        **forms,
        "edit-request": (f"/bills/requests/{more['request']}/edit", forms["/bills/requests/new"]),
        "edit-matter": (f"/matters/{matter}/edit", forms["/matters/new"]),
        "/bills/invoices/new": {
            "matter_id": str(matter),
            "issued_on": iso(today()),
            "lines-0-line_date": iso(today()),
            "lines-0-description": "Advice",
            "lines-0-kind": "fee",
            "lines-0-quantity": "1",
            "lines-0-rate": "100.00",
        },
        "/bills/invoices/batch": {"digest": "0" * 64, "key": "k" * 24},
        "transfer": (
            f"/trust/matters/{matter}/transfer",
            {"transfer-amount": "10.00", "transfer-entry_date": iso(today()), "transfer-reason": "Moved"},
        ),
        "tick": (f"/reconciliations/statements/{more['statement']}/tick", {}),
    }
    url, payload = payloads[form] if isinstance(payloads[form], tuple) else (form, payloads[form])
    for value in TOO_BIG:
        with app.app_context():
            before = snapshot()
        response = post(client, url, {**payload, field: value})
        html = response.get_data(as_text=True)
        assert 400 <= response.status_code < 500, (value, response.status_code, html[:1000])
        assert 'class="error"' in html or "flash-error" in html, html
        with app.app_context():
            assert snapshot() == before
            assert db.session.query(TrustRequest).count() == 1
