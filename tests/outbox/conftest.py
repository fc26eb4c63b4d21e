import pytest

from tests.outbox.steps import gen_office


@pytest.fixture
def office(app):
    """The firm: a trust account, clients A and B, a lawyer, an admin, a bookkeeper and a member of staff."""
    with app.app_context():
        return gen_office()
