"""The reconciliation tests' month: October in the books, the bookkeeper signed in."""

import pytest

from tests.factories import gen_account, gen_trust_setup, gen_user
from tests.reconcile.steps import november


@pytest.fixture
def month(app, client, auth):
    """October in the books; the bookkeeper signed in."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        november(setup)
        bookkeeper = gen_user("bookkeeper")
    auth.login_as(bookkeeper)
    return setup
