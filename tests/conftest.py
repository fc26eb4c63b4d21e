"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL when asked), a client, helpers.

Set TRUSTWEB_TEST_DATABASE_URL=postgresql://... to run the suite on PostgreSQL:
the run creates its own schema there and drops it at the end.
"""

import os
import re
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from trustweb import create_app
from trustweb.config import database_url
from trustweb.extensions import db

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
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database(tmp_path, pg_schema):
    """(database URI, engine options) for a database with empty tables."""
    if pg_schema is not None:
        return PG_URL, pg_schema.engine_options()
    return f"sqlite:///{tmp_path / 'test.sqlite3'}", None


@contextmanager
def built_app(database, pg_schema, **overrides):
    """An app on the test database with empty tables; overrides go into its config."""
    uri, options = database
    app = create_app(make_config(uri, options, **overrides))
    with app.app_context():
        if pg_schema is None:
            db.create_all()
        else:
            empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database, pg_schema):
    with built_app(database, pg_schema) as app:
        yield app


@pytest.fixture
def mailbox():
    """A real SMTP server on loopback; build the app with mailbox.config() to send to it."""
    from tests.mailbox import Mailbox

    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, url="/auth/login"):
    """The CSRF token for this client's session, read from a page as a browser would."""
    response = client.get(url, follow_redirects=True)
    match = CSRF_META.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post(client, url, data=None, **kwargs):
    """POST a form the way a browser does, with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password):
        return post(self.client, "/auth/login", {"email": email, "password": password})

    def login_as(self, user):
        from tests.factories import PASSWORD

        response = self.login(user.email, PASSWORD)
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def logout(self):
        return post(self.client, "/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


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
def live_server(app):
    """The test's app served by a real threaded WSGI server on loopback; yields its base URL."""
    from tests.browser_support import serving

    with serving(app) as url:
        yield url
