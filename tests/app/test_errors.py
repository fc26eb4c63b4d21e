"""Errors: a page for a browser, a message for htmx, never a stack trace."""

import pytest
from sqlalchemy import text

from tests.conftest import post
from tests.factories import gen_user
from trustweb.auth.permissions import public
from trustweb.extensions import db
from trustweb.models import Contact


@pytest.fixture
def signed_in(app, auth):
    with app.app_context():
        user = gen_user("staff")
    auth.login_as(user)


def test_404_page(client, signed_in):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in html and "<html" in html


def test_404_for_htmx_is_a_message_in_the_flash_area(client, signed_in):
    response = client.get("/matters/424242", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#messages"
    assert response.headers["HX-Reswap"] == "innerHTML"
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Not found" in html


def test_405_is_a_page_not_a_trace(client, signed_in):
    response = post(client, "/contacts/")
    assert response.status_code == 405
    assert "This address does not accept that kind of request." in response.get_data(as_text=True)


def test_an_unexpected_error_rolls_back_and_shows_a_plain_page(app, database):
    from tests.conftest import make_config
    from trustweb import create_app

    fresh = create_app(make_config(*database))

    @public
    def explode():
        db.session.add(Contact(kind="person", name="Half-written"))
        db.session.flush()
        # A failed statement: on PostgreSQL the transaction is now aborted, and the error
        # page (which reads the firm's name) would fail too unless the handler rolls back.
        db.session.execute(text("SELECT no_such_column FROM contact"))

    fresh.add_url_rule("/explode", "explode", explode)
    fresh.config["PROPAGATE_EXCEPTIONS"] = False
    response = fresh.test_client().get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "no_such_column" not in html and "Traceback" not in html
    with fresh.app_context():
        assert db.session.query(Contact).count() == 0
        db.engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "/contacts/?endpoint=x&page=1",
        "/matters/?status=all&_method=DELETE",
        "/contacts/?_external=1&_anchor=evil",
        "/contacts/?q=%00",
        "/contacts/?q=a%00b",
        "/matters/?q=%00&status=all",
        "/contacts/?page=100000000000000000000",
        "/contacts/?page=99999999999",
        "/contacts/99999999999999999999",
        "/matters/99999999999999999999/edit",
        "/contacts/?q=" + "x" * 5000,
        "/matters/?q=%F0%9F%92%B0%E2%80%AE",
    ],
)
def test_odd_addresses_never_give_a_500(client, signed_in, url):
    assert client.get(url).status_code in (200, 404)


def test_pager_links_carry_only_the_lists_own_filters(app, client, signed_in):
    from tests.factories import gen_contact

    with app.app_context():
        for i in range(30):
            gen_contact(f"Client {i:02d}")
    html = client.get("/contacts/?q=client&_external=1&_anchor=x&endpoint=y").get_data(as_text=True)
    assert 'href="/contacts/?page=2&amp;q=client"' in html
    assert "http://" not in html.split("<main>")[1] and "#x" not in html


def test_two_admins_adding_the_same_account_at_once_never_get_a_500(app, auth):
    """Whichever way the race goes, one account is added and the other admin gets a clear refusal."""
    import threading

    from tests.conftest import AuthActions
    from trustweb.models import BankAccount

    with app.app_context():
        admins = [gen_user("admin"), gen_user("admin")]
    clients = [app.test_client() for _ in admins]
    for admin, admin_client in zip(admins, clients, strict=True):
        AuthActions(admin_client).login_as(admin)
    start = threading.Barrier(2)
    responses = []

    def add_account(admin_client):
        start.wait()
        form = {"name": "IOLTA Trust", "kind": "trust", "currency": "USD"}
        responses.append(post(admin_client, "/settings/accounts/new", form))

    threads = [threading.Thread(target=add_account, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in responses) == [303, 422]
    refused = next(r for r in responses if r.status_code == 422).get_data(as_text=True)
    assert "Another account already has this name." in refused or "Someone else changed this" in refused
    with app.app_context():
        assert db.session.query(BankAccount).count() == 1
