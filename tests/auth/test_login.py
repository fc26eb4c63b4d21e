"""Signing in and out, and the ways a sign-in is refused."""

import pytest

from tests.conftest import post
from tests.factories import PASSWORD, gen_user
from trustweb.extensions import db
from trustweb.models import User


@pytest.fixture
def lawyer(app):
    with app.app_context():
        return gen_user("lawyer", email="eleanor@firm.example.com")


def test_a_lawyer_signs_in_and_lands_on_the_dashboard(client, auth, lawyer):
    response = auth.login("Eleanor@Firm.example.com ", PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Dashboard" in page and lawyer.name in page


def test_production_hashes_passwords_with_argon2id_at_full_cost(app, client, auth, tmp_path):
    """Tests hash cheaply (TestConfig); a real install keeps Argon2id's own costs, and signs in with them."""
    from trustweb.config import Config
    from trustweb.services.sessions import password_hasher

    app.config["ARGON2"] = Config(tmp_path).ARGON2
    with app.app_context():
        user = gen_user("lawyer")
        stored = password_hasher().hash(PASSWORD)
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        db.session.get(User, user.id).password_hash = stored
        db.session.commit()
    assert auth.login(user.email, PASSWORD).status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == stored  # no rehash: the costs are the same


def test_wrong_password_is_refused(client, auth, lawyer):
    response = auth.login(lawyer.email, "not the password")
    assert response.status_code == 401
    assert "The email or password is not right." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_answer(client, auth, lawyer):
    response = auth.login("nobody@firm.example.com", PASSWORD)
    assert response.status_code == 401
    assert "The email or password is not right." in response.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(app, client, auth):
    with app.app_context():
        user = gen_user("staff", active=False)
    response = auth.login(user.email, PASSWORD)
    assert response.status_code == 401
    assert "This account is disabled" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_disabling_a_user_ends_their_open_session(app, client, auth, lawyer):
    auth.login_as(lawyer)
    assert client.get("/").status_code == 200
    with app.app_context():
        admin = gen_user("admin")
    admin_client = app.test_client()
    post(admin_client, "/auth/login", {"email": admin.email, "password": PASSWORD})
    assert post(admin_client, f"/settings/users/{lawyer.id}/active").status_code == 303
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", PASSWORD, "Enter your email."),
        ("eleanor@firm.example.com", "", "Enter your password."),
        ("not-an-email", PASSWORD, "Enter a valid email address."),
        ("a" * 250 + "@x.com", PASSWORD, "Field cannot be longer than 254 characters."),
    ],
)
def test_incomplete_login_form_says_what_is_missing(client, auth, lawyer, email, password, message):
    response = auth.login(email, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_repeated_failures_are_rate_limited(client, auth, lawyer):
    for _ in range(10):
        assert auth.login(lawyer.email, "wrong password").status_code == 401
    response = auth.login(lawyer.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_successful_logins_do_not_count_towards_the_limit(client, auth, lawyer):
    for _ in range(12):
        assert auth.login(lawyer.email, PASSWORD).status_code == 303
        auth.logout()


UNSAFE_NEXT = [
    "https://evil.example.com/",
    "//evil.example.com/",
    "/\\evil.example.com",
    "\\\\evil.example.com",
    "http:/evil.example.com",
    "javascript:alert(1)",
    "evil.example.com",
    "/%0d%0aSet-Cookie:x=1",
    "/\t/evil.example.com",
    "/ /evil.example.com",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_open_redirect_in_next_is_ignored(client, auth, lawyer, target):
    client.get("/auth/login")
    response = post(client, f"/auth/login?next={target}", {"email": lawyer.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_on_this_site_is_followed(client, lawyer):
    response = post(client, "/auth/login?next=/matters/%3Fstatus%3Dall", {"email": lawyer.email, "password": PASSWORD})
    assert response.headers["Location"] == "/matters/?status=all"


def test_the_short_sign_in_address_leads_to_the_sign_in_page_keeping_where_to_go(client, lawyer):
    """/login is what people type; the page is /auth/login. A safe ?next= goes along, and signing in follows it."""
    response = client.get("/login")
    assert response.status_code == 301 and response.headers["Location"] == "/auth/login"
    response = client.get("/login?next=/matters/%3Fstatus%3Dall")
    assert response.status_code == 301
    assert response.headers["Location"] == "/auth/login?next=/matters/?status%3Dall"
    signed_in = post(client, response.headers["Location"], {"email": lawyer.email, "password": PASSWORD})
    assert signed_in.headers["Location"] == "/matters/?status=all"


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_the_short_sign_in_address_drops_a_next_that_leaves_the_site(client, target):
    response = client.get(f"/login?next={target}")
    assert response.status_code == 301 and response.headers["Location"] == "/auth/login"


def test_session_cookie_is_httponly_and_lax(client, auth, lawyer):
    response = auth.login(lawyer.email, PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_is_stored_with_argon2(app, lawyer):
    with app.app_context():
        user = db.session.get(User, lawyer.id)
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_changing_password_signs_out_other_devices(app, client, auth, lawyer):
    auth.login_as(lawyer)
    laptop = app.test_client()
    post(laptop, "/auth/login", {"email": lawyer.email, "password": PASSWORD})
    assert laptop.get("/").status_code == 200

    wrong = post(
        client,
        "/auth/password",
        {"current": "nope", "password": "a new long passphrase", "confirm": "a new long passphrase"},
    )
    assert wrong.status_code == 422 and "The current password is not right." in wrong.get_data(as_text=True)
    mismatch = post(
        client,
        "/auth/password",
        {"current": PASSWORD, "password": "a new long passphrase", "confirm": "another one entirely"},
    )
    assert mismatch.status_code == 422 and "The two passwords differ." in mismatch.get_data(as_text=True)

    done = post(
        client,
        "/auth/password",
        {"current": PASSWORD, "password": "a new long passphrase", "confirm": "a new long passphrase"},
    )
    assert done.status_code == 303
    assert client.get("/").status_code == 200  # this session goes on
    assert laptop.get("/").status_code == 302  # the other one ended
    auth.logout()
    assert auth.login(lawyer.email, PASSWORD).status_code == 401
    assert auth.login(lawyer.email, "a new long passphrase").status_code == 303


def test_failures_count_across_app_servers(app, database, lawyer):
    """Two gunicorn workers or two servers share one count: it lives in the database."""
    from tests.conftest import AuthActions, make_config
    from trustweb import create_app

    other_server = create_app(make_config(*database))
    servers = [app, other_server]
    statuses = [
        AuthActions(servers[i % 2].test_client()).login(lawyer.email, "wrong password").status_code for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    with other_server.app_context():
        db.engine.dispose()


def test_simultaneous_guesses_cannot_slip_past_the_limit(app, lawyer):
    import threading

    from tests.conftest import AuthActions

    start = threading.Barrier(16)
    statuses = []

    def guess():
        client = app.test_client()
        client.get("/auth/login")
        start.wait()
        statuses.append(AuthActions(client).login(lawyer.email, "wrong password").status_code)

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(401) <= 10
    assert statuses.count(401) + statuses.count(429) == 16


def test_a_success_resets_the_count_for_that_account(client, auth, lawyer):
    for _ in range(9):
        auth.login(lawyer.email, "wrong password")
    assert auth.login(lawyer.email, PASSWORD).status_code == 303
    auth.logout()
    for _ in range(3):
        assert auth.login(lawyer.email, "wrong password").status_code == 401


def test_signing_out_kills_a_copied_session_cookie(app, client, auth, lawyer):
    auth.login_as(lawyer)
    stolen = app.test_client()
    cookie = client.get_cookie("session")
    stolen.set_cookie("session", cookie.value)
    assert stolen.get("/").status_code == 200
    auth.logout()
    assert stolen.get("/").status_code == 302


def test_a_session_ends_after_its_lifetime(app, client, auth, lawyer):
    from datetime import timedelta

    app.config["SESSION_LIFETIME"] = timedelta(seconds=-1)
    auth.login_as(lawyer)
    assert client.get("/").status_code == 302


def test_sessions_are_stored_hashed(app, client, auth, lawyer):
    from trustweb.models import UserSession

    auth.login_as(lawyer)
    with app.app_context():
        session = db.session.scalar(db.select(UserSession))
        assert session.user_id == lawyer.id and len(session.token_hash) == 64
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    token = serializer.loads(client.get_cookie("session").value)["_user_id"]
    assert token not in session.token_hash and len(token) >= 40


def test_flood_limit_state_can_live_in_redis(database):
    """Several app servers share the flood limit through Redis (skipped where no Redis runs)."""
    import uuid

    import redis

    from tests.conftest import make_config
    from trustweb import create_app

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"tw-test-{uuid.uuid4().hex}"
    config = make_config(*database, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=prefix)
    app = create_app(config)
    store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        with app.app_context():
            db.create_all()
        client = app.test_client()
        # Empty forms fail validation before any password check, so this is cheap.
        statuses = [post(client, "/auth/login", {"email": "", "password": ""}).status_code for _ in range(61)]
        assert statuses[:60] == [422] * 60 and statuses[60] == 429
        keys = store.keys(f"*{prefix}*")
        assert keys
        store.delete(*keys)
    finally:
        # The limiter is one object for every app: give it back its memory storage, or the next tests in this
        # process would count in (and conftest's reset would empty) this Redis database.
        create_app(make_config(*database))
