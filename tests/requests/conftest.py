"""Trust request tests run against a real SMTP server on loopback."""

import pytest


@pytest.fixture
def app(mailing_app):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    return mailing_app
