"""Every route is closed to strangers, and admin pages to everyone but admins."""

import re

import pytest

from tests.conftest import csrf_token, post
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from trustweb import create_app
from trustweb.auth.permissions import PERMISSIONS
from trustweb.models import ROLES

# Built once at collection time so that a new route is covered without editing this file.
_APP = create_app({"DATABASE_URI": "sqlite://"})
PUBLIC = {"static"} | {name for name, view in _APP.view_functions.items() if getattr(view, "public", False)}
# The client portal's: closed to staff and strangers alike (tests/portal/test_scoping.py).
CLIENT = {name for name, view in _APP.view_functions.items() if getattr(view, "client", False)}


def staff_urls():
    """(endpoint, method, url) for every route that is not public, with 1 for each id."""
    for rule in _APP.url_map.iter_rules():
        if rule.endpoint in PUBLIC | CLIENT:
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield pytest.param(rule.endpoint, method, url, id=f"{method} {url}")


def refused_urls():
    """(role, endpoint, method, url) for every route and every role its permission leaves out."""
    for param in staff_urls():
        endpoint, method, url = param.values
        permission = _APP.view_functions[endpoint].permission
        for role in sorted(set(ROLES) - PERMISSIONS[permission]):
            yield pytest.param(role, endpoint, method, url, id=f"{role} {method} {url}")


def test_every_view_declares_its_access():
    for endpoint, view in _APP.view_functions.items():
        if endpoint == "static":
            continue
        declared = [getattr(view, "public", False), getattr(view, "client", False), hasattr(view, "permission")]
        assert declared.count(True) == 1, endpoint
        assert getattr(view, "permission", None) in PERMISSIONS or not declared[2], endpoint


@pytest.mark.parametrize(("endpoint", "method", "url"), list(staff_urls()))
def test_anonymous_is_sent_to_login(client, endpoint, method, url):
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_anonymous_htmx_request_is_told_to_redirect(client):
    response = client.get("/contacts/?q=a", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login?next=")


@pytest.fixture
def records(app):
    """Row 1 of every kind, so that URLs with id 1 reach their view."""
    with app.app_context():
        gen_matter(client=gen_contact(), lawyer=gen_user("lawyer"))
        gen_account()


@pytest.mark.parametrize(("role", "endpoint", "method", "url"), list(refused_urls()))
def test_each_role_gets_403_where_the_permission_table_leaves_it_out(
    app, client, auth, records, role, endpoint, method, url
):
    with app.app_context():
        user = gen_user(role)
    auth.login_as(user)
    response = client.get(url) if method == "GET" else post(client, url)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_staff_cannot_move_money_out_of_trust_but_can_record_deposits():
    assert "staff" not in PERMISSIONS["disburse_trust"] and "bookkeeper" not in PERMISSIONS["disburse_trust"]
    assert {"lawyer", "admin"} <= PERMISSIONS["disburse_trust"]
    assert {"staff", "bookkeeper"} <= PERMISSIONS["record_deposit"]


def test_the_firms_own_books_are_for_admins_and_bookkeepers():
    # An operating account's register (tests/trust/test_register.py has each role on its page and its CSV).
    assert PERMISSIONS["read_operating"] == {"admin", "bookkeeper"}
    assert _APP.view_functions["trust.register_csv"].permission == "read_operating"


def test_admin_reaches_admin_pages(app, client, auth, records):
    with app.app_context():
        admin = gen_user("admin")
    auth.login_as(admin)
    for url in ["/settings/", "/settings/users", "/settings/accounts", "/settings/accounts/new", "/settings/users/1"]:
        assert client.get(url).status_code == 200, url


def test_staff_does_not_see_settings_in_navigation(app, client, auth):
    with app.app_context():
        user = gen_user("staff")
    auth.login_as(user)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/contacts/"' in page
    assert 'href="/settings/"' not in page


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, auth):
    from trustweb.extensions import db
    from trustweb.models import Contact

    with app.app_context():
        user = gen_user("lawyer")
    auth.login_as(user)
    response = client.post("/contacts/new", data={"kind": "person", "name": "Forged Contact"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Contact).filter_by(name="Forged Contact").count() == 0


def test_the_token_a_page_carries_is_the_one_a_post_needs(app, client, auth):
    """Forms and htmx take the CSRF token from the page (the other tests sign it from the session)."""
    from trustweb.extensions import db
    from trustweb.models import Contact

    with app.app_context():
        user = gen_user("lawyer")
    auth.login_as(user)
    token = csrf_token(client, "/contacts/")
    response = client.post("/contacts/new", data={"csrf_token": token, "kind": "person", "name": "Real Contact"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.query(Contact).filter_by(name="Real Contact").count() == 1


def test_logout_needs_post_and_csrf(app, client, auth):
    with app.app_context():
        user = gen_user("staff")
    auth.login_as(user)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/").status_code == 200  # still signed in
    assert auth.logout().status_code == 303
    assert client.get("/").status_code == 302


def test_security_headers_on_every_page(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_carry_no_inline_script(app, client, auth, records):
    with app.app_context():
        admin = gen_user("admin")
    auth.login_as(admin)
    for url in ["/", "/contacts/", "/matters/", "/matters/1", "/contacts/1", "/settings/users", "/auth/login"]:
        page = client.get(url).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", page):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"<[^>]+\son[a-z]+=", page), url
        assert "hx-on" not in page and "hx-vars" not in page, url
