"""A client whose name starts with an accented letter is found wherever a client's name is searched, in any case, on
SQLite too (whose lower() and LIKE fold only A to Z): each search compares contact.name_key, the name case folded in
Python."""

import pytest

from tests.factories import gen_trust_setup
from tests.requests.steps import gen_request
from tests.trust.steps import wire_in
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Matter

HTMX = {"HX-Request": "true"}


@pytest.fixture
def firm(app, admin):
    """Émile Ørsted's matter holds $500 in trust, and a trust request asks him for more."""
    with app.app_context():
        setup = gen_trust_setup()
        client = db.session.get(Contact, setup.client_a)
        client.name = "Émile Ørsted"
        db.session.commit()
        matter = db.session.get(Matter, setup.matter_a1)
        wire_in(db.session.get(BankAccount, setup.account), client, matter, 50_000)
        gen_request(setup)
        return {"account": setup.account, "matter": matter.number}


@pytest.mark.parametrize("typed", ["émile", "ÉMILE", "ørsted", "LE ØR"])
def test_an_accented_name_is_found_by_every_search_of_client_names(app, client, firm, typed):
    pages = {
        "the Bills list": f"/bills/?q={typed}",
        "the trust account's ledgers": f"/trust/accounts/{firm['account']}/ledgers?q={typed}",
        "the client ledger report's matter picker": f"/reports/client-ledger?find={typed}",
        "the transfer form's matter picker": f"/trust/matter-numbers?q={typed}",
    }
    missed = []
    for where, url in pages.items():
        response = client.get(url, headers=HTMX)
        assert response.status_code == 200, where
        page = response.get_data(as_text=True)
        if "Émile Ørsted" not in page and firm["matter"] not in page:
            missed.append(where)
    assert missed == [], f"{typed!r} not found by {', '.join(missed)}"
