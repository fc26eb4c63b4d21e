"""Client portal tests run against a real SMTP server on loopback: a client signs in with the link they are
emailed."""

import pytest

from tests.portal.steps import Firm, gen_portal_firm


@pytest.fixture
def app(mailing_app):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    return mailing_app


@pytest.fixture
def firm(app) -> Firm:
    with app.app_context():
        return gen_portal_firm()
