"""Payments taken on the spot: the app sends real email to the test mailbox (the client's receipt)."""

import pytest

from tests.conftest import signed_in
from tests.requests.steps import gen_firm


@pytest.fixture
def app(mailing_app):
    return mailing_app


@pytest.fixture
def firm(app):
    """A trust account on the test processor, an operating account, clients A and B and their lawyer."""
    with app.app_context():
        return gen_firm()


@pytest.fixture
def lawyer(app, firm):
    """The responsible lawyer, signed in at the firm's desk."""
    return signed_in(app, firm.lawyer)
