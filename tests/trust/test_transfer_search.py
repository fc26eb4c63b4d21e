"""The transfer form's matter search offers a few matches however many open matters the firm has, for the same
statements: the form never lists every open matter."""

from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import User
from trustweb.trust.ledgers import SUGGESTED

HTMX = {"HX-Request": "true"}


def smiths(lawyer_id, first, count):
    lawyer = db.session.get(User, lawyer_id)
    for n in range(first, first + count):
        gen_matter(gen_contact(f"Sam Smith {n:03d}"), lawyer, description=f"Lease {n}")


def test_the_matter_search_offers_a_few_matches_for_the_same_statements(app, client, auth):
    with app.app_context():
        lawyer = gen_user("lawyer")
        gen_account("IOLTA Trust", is_default=True)
        smiths(lawyer.id, 0, SUGGESTED + 5)
    auth.login_as(lawyer)
    url = "/trust/matter-numbers?transfer-other_matter=smith"
    with statements(app) as few:
        html = client.get(url, headers=HTMX).get_data(as_text=True)
    assert html.count("<option") == SUGGESTED and "Sam Smith 000 · Lease 0" in html
    with app.app_context():
        smiths(lawyer.id, 100, 100)
    with statements(app) as many:
        html = client.get(url, headers=HTMX).get_data(as_text=True)
    assert html.count("<option") == SUGGESTED and len(few) == len(many)
