"""PDF tests: a firm with a name and an address, its requests emailed to a real SMTP server on loopback."""

import pytest

from tests.pdf.steps import name_firm
from tests.requests.steps import gen_firm


@pytest.fixture
def app(mailing_app):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    return mailing_app


@pytest.fixture
def firm(app):
    """Hartwell & Case, with a trust account, an operating account and clients A (Ada Archer) and B (Ben Baker)."""
    with app.app_context():
        setup = gen_firm()
        name_firm()
        return setup


@pytest.fixture
def payer(app):
    """The client, on their phone: signed out, a browser of their own."""
    return app.test_client()
