"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL when asked), a client, helpers.

Set TRUSTWEB_TEST_DATABASE_URL=postgresql://... to run the suite on PostgreSQL:
the run creates its own schema there and drops it at the end.
"""

import os
import re
import secrets
import shutil
import threading
import uuid
from collections import OrderedDict
from contextlib import contextmanager

import pytest
from hypothesis import settings
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from trustweb import create_app
from trustweb.config import database_url
from trustweb.extensions import db, limiter

# Hypothesis's per-example deadline times a shared, noisy machine, not our code: speed is measured in bench/.
settings.register_profile("trustweb", deadline=None)
settings.load_profile("trustweb")

PG_URL = os.environ.get("TRUSTWEB_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith(("postgres://", "postgresql"))
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if ON_POSTGRES else 'SQLite'}"


class PostgresSchema:
    """A schema of its own in the test database, so runs never see each other's tables."""

    def __init__(self, url):
        self.url = database_url(url)
        self.name = f"tw_test_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self):
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))

    def drop(self):
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()

    def engine_options(self):
        return {"connect_args": {"options": f"-csearch_path={self.name}"}}


def make_config(database_uri, engine_options=None, **overrides):
    config = {"DATABASE_URI": database_uri, **overrides}
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    return config


@pytest.fixture(scope="session")
def pg_schema():
    """One schema for the whole run on PostgreSQL (tables are emptied between tests)."""
    if not ON_POSTGRES:
        yield None
        return
    schema = PostgresSchema(PG_URL)
    schema.create()
    app = create_app(make_config(PG_URL, schema.engine_options()))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield schema
    schema.drop()


def empty_tables():
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        # The journal's triggers refuse TRUNCATE; as a replica (a superuser's setting, for this transaction
        # only) no ordinary trigger fires. One statement for every table stays the fastest reset.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


class SQLiteFiles:
    """An empty database made once per run and copied into place for each test (a copy is cheaper than DDL)."""

    def __init__(self, folder):
        self.template = folder / "template.sqlite3"
        self.path = folder / "test.sqlite3"
        app = create_app(make_config(f"sqlite:///{self.template}"))
        with app.app_context():
            db.create_all()
            db.engine.dispose()  # the last connection checkpoints the WAL into the file

    def fresh(self):
        """Replace the test database with an empty one (connections to the old file keep the old file)."""
        for suffix in ("-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        copy = self.path.with_name("copy.sqlite3")
        shutil.copyfile(self.template, copy)
        os.replace(copy, self.path)
        return f"sqlite:///{self.path}"


@pytest.fixture(scope="session")
def sqlite_files(tmp_path_factory):
    return SQLiteFiles(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture
def database(request, pg_schema):
    """(database URI, engine options): on SQLite a fresh copy of the empty database; on PostgreSQL the run's
    schema, which built_app() empties."""
    if pg_schema is not None:
        return PG_URL, pg_schema.engine_options()
    return request.getfixturevalue("sqlite_files").fresh(), None


# Apps built for earlier tests, by their configuration: building one costs more than most tests.
_APPS = OrderedDict()
_KEEP_APPS = 6


def cached_app(config):
    key = repr(sorted(config.items(), key=lambda item: item[0]))
    if key in _APPS:
        _APPS.move_to_end(key)
    else:
        _APPS[key] = create_app(config)
        while len(_APPS) > _KEEP_APPS:
            _APPS.popitem(last=False)
    return _APPS[key]


@contextmanager
def built_app(database, pg_schema, **overrides):
    """An app on the test database with empty tables; overrides go into its config.

    One app serves every test with the same configuration; what a test changes in its config
    (or in Flask-Mail's state) is put back afterwards, and rate-limit counts start again.
    """
    uri, options = database
    app = cached_app(make_config(uri, options, **overrides))
    config, mail_state = dict(app.config), dict(vars(app.extensions["mail"]))
    with app.app_context():
        if pg_schema is not None:
            empty_tables()
        limiter.reset()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.config.clear()
        app.config.update(config)
        vars(app.extensions["mail"]).update(mail_state)


@pytest.fixture
def app(database, pg_schema):
    with built_app(database, pg_schema) as app:
        yield app


@pytest.fixture(scope="session")
def _smtp_server():
    from tests.mailbox import Mailbox

    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def mailbox(_smtp_server):
    """A real SMTP server on loopback, empty at the start of each test; build the app with mailbox.config()."""
    _smtp_server.clear()
    return _smtp_server


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, url=None):
    """The CSRF token for this client's session: read from a page's meta tag as a browser would when a url is
    given, else signed from the session the way Flask-WTF signs it (no page rendered for every POST)."""
    if url is not None:
        response = client.get(url, follow_redirects=True)
        match = CSRF_META.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {url}"
        return match.group(1)
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    return URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps(raw)


def post(client, url, data=None, **kwargs):
    """POST a form the way a browser does, with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


def posted_at_once(url, posts):
    """Each (browser, form) posted to url from a thread of its own, all released together (a form sent from several
    tabs at the same moment); the responses, in order (an exception where a post raised one)."""
    start = threading.Barrier(len(posts))
    responses = [None] * len(posts)

    def press(i, browser, data):
        start.wait(timeout=30)
        try:
            responses[i] = browser.post(url, data=data)
        except Exception as error:  # noqa: BLE001 - checked by the caller
            responses[i] = error

    threads = [threading.Thread(target=press, args=(i, *p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a post is stuck waiting for a lock"
    return responses


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password):
        return post(self.client, "/auth/login", {"email": email, "password": password})

    def login_as(self, user):
        """Signed in as the user through a server-side session, as the sign-in page would leave it.

        Tests about signing in use login(); the rest skip the form and its password check.
        """
        from flask import session
        from flask_login import login_user

        from trustweb.models import User
        from trustweb.services.sessions import start_session

        browser = self.client.environ_base
        with self.client.application.test_request_context(environ_base=browser):
            signed_in = db.session.get(User, user.id)
            start_session(signed_in, remember=False, ip=browser["REMOTE_ADDR"], user_agent=browser["HTTP_USER_AGENT"])
            login_user(signed_in)
            values = dict(session)
        with self.client.session_transaction() as cookie:
            cookie.update(values)

    def logout(self):
        return post(self.client, "/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def signed_in(app, user_id):
    """A browser of its own, signed in as this user."""
    from trustweb.models import User

    browser = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
    AuthActions(browser).login_as(user)
    return browser


def signed_in_as(app, auth, role):
    """A new user of this role, signed in on the test's client."""
    from tests.factories import gen_user

    with app.app_context():
        user = gen_user(role)
    auth.login_as(user)
    return user


@pytest.fixture
def admin(app, auth):
    """An administrator, signed in on the test's client."""
    return signed_in_as(app, auth, "admin")


@pytest.fixture
def bookkeeper(app, auth):
    """A bookkeeper, signed in on the test's client."""
    return signed_in_as(app, auth, "bookkeeper")


@pytest.fixture
def standin():
    """A running Stripe stand-in (tests/stripe_standin.py); a test fails if it saw a request it could not answer."""
    from tests.stripe_standin import StandIn

    with StandIn() as server:
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for a browser test module; each test opens its own context (cookies, viewport, JS on or off)."""
    from tests.browser_support import launched_chromium

    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def listener():
    """The live server's port, taken before the app is built so that its BASE_URL can name it."""
    from tests.browser_support import loopback_listener

    with loopback_listener() as sock:
        yield sock


@pytest.fixture
def live_server(app, listener):
    """The test's app served by a real threaded WSGI server on loopback; yields its base URL."""
    from tests.browser_support import serving

    with serving(app, listener) as url:
        yield url


@pytest.fixture
def mailing_app(database, pg_schema, mailbox):
    """The app sending real email to the test mailbox, its base URL the test client's host: a folder whose tests
    read their email takes it as its `app`."""
    with built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config()) as app, mailbox.serve(app):
        yield app


@pytest.fixture
def stripe_app(database, pg_schema, mailbox, standin):
    """The app with its trust account's Stripe keys set (the stand-in's), sending real email to the test mailbox;
    its base URL the test client's host."""
    from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET

    keys = {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET}
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": {"trust": keys, "operating": {}}}
    with (
        built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config(), **config) as app,
        mailbox.serve(app),
    ):
        yield app


@pytest.fixture
def emailing_app(database, pg_schema, mailbox, listener):
    """The app sending real email to the test mailbox, its links pointing at the live server: the app of a browser
    test whose client taps the link an email carried."""
    from tests.browser_support import listener_url

    with built_app(database, pg_schema, BASE_URL=listener_url(listener), **mailbox.config()) as app, mailbox.serve(app):
        yield app
