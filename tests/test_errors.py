"""Errors: a page for a browser, a message for htmx, never a stack trace."""

import pytest

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
    response = client.post("/contacts/")
    assert response.status_code in (400, 405)  # CSRF is checked first on a POST without a token


def test_an_unexpected_error_rolls_back_and_shows_a_plain_page(app, database):
    from tests.conftest import make_config
    from trustweb import create_app

    fresh = create_app(make_config(*database))

    @public
    def explode():
        db.session.add(Contact(kind="person", name="Half-written"))
        db.session.flush()
        raise RuntimeError("boom")

    fresh.add_url_rule("/explode", "explode", explode)
    fresh.config["PROPAGATE_EXCEPTIONS"] = False
    response = fresh.test_client().get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "boom" not in html and "Traceback" not in html
    with fresh.app_context():
        assert db.session.query(Contact).count() == 0
        db.engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
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
