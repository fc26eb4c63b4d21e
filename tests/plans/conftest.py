"""Payment plans and automatic top-ups: the app sends real email to the test mailbox (receipts, decline notices)."""

import pytest


@pytest.fixture
def app(mailing_app):
    return mailing_app
