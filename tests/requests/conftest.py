"""Trust request tests run against a real SMTP server on loopback."""

import pytest

from tests.conftest import built_app


@pytest.fixture
def app(database, pg_schema, mailbox):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    with built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config()) as app, mailbox.serve(app):
        yield app
