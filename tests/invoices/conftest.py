import pytest

from tests.factories import gen_account, gen_trust_setup


@pytest.fixture
def firm(app):
    """A trust setup (client A with two matters, client B with one) and the firm's operating account."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        return setup
