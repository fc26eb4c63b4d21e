"""What a card payment through the pay link costs the database: a count of SQL statements that cannot creep back.

Measured on a second payment of the same matter (its ledgers exist, as they do for almost every payment). When a
change adds a statement, this test names each statement and where it came from: find the lazy load or the repeat.
"""

from tests.conftest import ON_POSTGRES
from tests.requests.steps import GOOD_CARD, card_details, gen_firm, gen_sent_request, pay, pay_form
from tests.statements import statements

# The statements of one card payment, from the POST to the redirect to its receipt. (A receipt going to the client's
# own address costs one more: whether the client has the portal, for the email's pointer to it. This payer gives
# another address for the receipt.)
PAYMENT_STATEMENTS = 29 if ON_POSTGRES else 38


def test_a_card_payment_runs_a_fixed_number_of_statements(app, client, mailbox):
    with app.app_context():
        setup = gen_firm()
        _, first = gen_sent_request(setup, mailbox)
        _, second = gen_sent_request(setup, mailbox, recipients=["ada.second@example.com"])
    assert pay(client, first, "5000.00")[0].status_code == 303
    _, csrf, checkout = pay_form(client, second)
    data = {"csrf_token": csrf, "checkout": checkout, **card_details("5000.00", GOOD_CARD)}
    with statements(app) as seen:
        response = client.post(second, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    listing = "\n".join(f"{s[:90]} ... {s[s.index('  @ ') :]}" for s in seen)
    assert len(seen) == PAYMENT_STATEMENTS, listing
    # No lock every payment in the firm waits on: the audit chain's head is only taken if free.
    head = [s for s in seen if s.startswith("SELECT audit_chain_head")]
    assert len(head) == 1 and (not ON_POSTGRES or "SKIP LOCKED" in head[0]), listing
    assert sum(s.startswith("INSERT INTO audit_event") for s in seen) == (1 if ON_POSTGRES else 5), listing
