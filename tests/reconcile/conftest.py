"""The reconciliation tests' month in the books, the bookkeeper signed in."""

import pytest

from tests.factories import gen_account, gen_trust_setup, gen_user
from tests.reconcile.steps import book_month


@pytest.fixture
def month(app, client, auth):
    """The books' month booked (tests.reconcile.steps); the bookkeeper signed in."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        book_month(setup)
        bookkeeper = gen_user("bookkeeper")
    auth.login_as(bookkeeper)
    return setup
