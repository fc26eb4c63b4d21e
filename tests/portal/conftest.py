"""Client portal tests run against a real SMTP server on loopback: a client signs in with the link they are
emailed."""

import pytest

from tests.conftest import built_app
from tests.portal.steps import Firm, gen_portal_firm


@pytest.fixture
def app(database, pg_schema, mailbox):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    with built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config()) as app, mailbox.serve(app):
        yield app


@pytest.fixture
def firm(app) -> Firm:
    with app.app_context():
        return gen_portal_firm()
