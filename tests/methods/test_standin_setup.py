"""The Stripe stand-in's Customers, setup-mode sessions, SetupIntents, PaymentMethods and off-session
PaymentIntents, checked through the real `stripe` library as the app calls them."""

import http.client
from urllib.parse import urlencode, urlsplit

import pytest
import stripe

from tests.stripe_standin import card_fee


@pytest.fixture
def api(standin):
    return standin.client()


def setup_session(api, customer, **params):
    return api.v1.checkout.sessions.create(
        {
            "mode": "setup",
            "customer": customer,
            "currency": "usd",
            "allowed_payment_method_types": ["card", "us_bank_account"],
            "success_url": "https://firm.example/back?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://firm.example/cancel",
            "metadata": {"contact": "7"},
            "setup_intent_data": {"metadata": {"contact": "7"}},
            **params,
        }
    )


def saved_card(api, standin, number="4242424242424242", method="card"):
    """A Customer with a method saved on a completed setup session; (customer id, payment method id)."""
    customer = api.v1.customers.create({"email": "ada@example.com", "name": "Ada Archer"})
    session = setup_session(api, customer.id)
    standin.complete(session.id, method=method, card_number=number)
    intent = api.v1.checkout.sessions.retrieve(session.id, {"expand": ["setup_intent"]}).setup_intent
    return customer.id, intent.payment_method


def off_session(api, customer, method, amount=10_000, key=None):
    return api.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
            "metadata": {"payment_key": "k"},
            "expand": ["latest_charge.balance_transaction"],
        },
        {"idempotency_key": key} if key else None,
    )


def test_a_setup_session_saves_a_card_to_the_customer_and_takes_no_money(api, standin):
    customer = api.v1.customers.create({"email": "ada@example.com", "name": "Ada Archer", "metadata": {"x": "1"}})
    assert (customer.object, customer.email, customer.metadata["x"]) == ("customer", "ada@example.com", "1")
    assert api.v1.customers.retrieve(customer.id).name == "Ada Archer"
    session = setup_session(api, customer.id)
    assert (session.mode, session.status, session.payment_status) == ("setup", "open", "no_payment_required")
    assert session.setup_intent is None and session.amount_total is None and session.url

    standin.complete(session.id, card_number="5555555555554444")

    done = api.v1.checkout.sessions.retrieve(session.id, {"expand": ["setup_intent.payment_method"]})
    assert (done.status, done.url, done.customer) == ("complete", None, customer.id)
    intent = done.setup_intent
    assert (intent.object, intent.status, intent.usage, intent.customer) == (
        "setup_intent",
        "succeeded",
        "off_session",
        customer.id,
    )
    assert intent.metadata["contact"] == "7"
    card = intent.payment_method.card
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("mastercard", "4444", 12, 2034)
    assert api.v1.setup_intents.retrieve(intent.id).payment_method == intent.payment_method.id
    assert api.v1.payment_methods.retrieve(intent.payment_method.id).customer == customer.id
    assert "number" not in str(intent.payment_method)  # Stripe never gives the number back
    assert [o for o in standin.requests if o.path == "/v1/payment_intents"] == []


def test_a_bank_account_saved_in_setup_mode_reads_as_its_bank_and_last_four(api, standin):
    _, method = saved_card(api, standin, method="us_bank_account")
    bank = api.v1.payment_methods.retrieve(method)
    assert (bank.type, bank.us_bank_account.bank_name, bank.us_bank_account.last4) == (
        "us_bank_account",
        "STRIPE TEST BANK",
        "6789",
    )


def test_setup_mode_refuses_what_stripe_refuses(api, standin):
    with pytest.raises(stripe.InvalidRequestError, match="line_items"):
        setup_session(api, None, line_items=[{"price_data": {"currency": "usd"}, "quantity": 1}])
    with pytest.raises(stripe.InvalidRequestError, match="No such customer"):
        setup_session(api, "cus_nobody")
    with pytest.raises(stripe.InvalidRequestError, match="does not support currency"):
        setup_session(api, None, currency="cad")


def test_an_off_session_card_payment_succeeds_with_its_fee(api, standin):
    customer, method = saved_card(api, standin)
    intent = off_session(api, customer, method, key="pay-1")
    assert (intent.status, intent.amount_received, intent.customer) == ("succeeded", 10_000, customer)
    assert intent.latest_charge.balance_transaction.fee == card_fee(10_000)
    assert intent.latest_charge.payment_method_details.card.last4 == "4242"
    again = off_session(api, customer, method, key="pay-1")
    assert again.id == intent.id and standin.requests[-1].replayed


def test_stripes_test_cards_decline_or_ask_for_authentication_off_session(api, standin):
    customer, declining = saved_card(api, standin, "4000000000000341")
    with pytest.raises(stripe.CardError) as declined:
        off_session(api, customer, declining, key="d-1")
    assert (declined.value.code, declined.value.http_status) == ("card_declined", 402)
    assert declined.value.error.decline_code == "generic_decline"
    assert standin.charge(declined.value.error.payment_intent.id)["status"] == "failed"

    customer, authenticating = saved_card(api, standin, "4000002760003184")
    with pytest.raises(stripe.CardError) as wanted:
        off_session(api, customer, authenticating, key="a-1")
    assert wanted.value.code == "authentication_required"
    intent = wanted.value.error.payment_intent
    assert intent.status == "requires_payment_method" and intent.last_payment_error.code == "authentication_required"
    with pytest.raises(stripe.CardError):  # a retry with the same key answers the same, and charges nothing
        off_session(api, customer, authenticating, key="a-1")
    assert standin.requests[-1].replayed


def test_an_off_session_bank_payment_is_processing_until_it_settles(api, standin):
    customer, method = saved_card(api, standin, method="us_bank_account")
    intent = off_session(api, customer, method)
    assert intent.status == "processing" and intent.latest_charge.balance_transaction is None
    standin.settle_intent(intent.id)
    settled = api.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge.balance_transaction"]})
    assert settled.status == "succeeded" and settled.latest_charge.balance_transaction.fee == 80
    event = standin.payment_intent_succeeded(intent.id)
    assert (event["type"], event["data"]["object"]["id"]) == ("payment_intent.succeeded", intent.id)

    failing = off_session(api, customer, method)
    standin.settle_intent(failing.id, succeeded=False)
    event = standin.payment_intent_payment_failed(failing.id)
    assert event["data"]["object"]["status"] == "requires_payment_method"


def test_a_detached_method_cannot_be_charged_or_detached_again(api, standin):
    customer, method = saved_card(api, standin)
    assert api.v1.payment_methods.detach(method).customer is None
    with pytest.raises(stripe.InvalidRequestError, match="detached from a Customer"):
        off_session(api, customer, method)
    with pytest.raises(stripe.InvalidRequestError) as again:
        api.v1.payment_methods.detach(method)
    assert again.value.code == "payment_method_unexpected_state"


def test_setup_events_carry_the_session_and_its_setup_intent(api, standin):
    customer = api.v1.customers.create({"name": "Ada Archer"})
    session = setup_session(api, customer.id)
    standin.complete(session.id)
    completed = standin.checkout_session_completed(session.id)
    assert completed["data"]["object"]["mode"] == "setup" and completed["data"]["object"]["setup_intent"]
    succeeded = standin.setup_intent_succeeded(session.id)
    assert succeeded["data"]["object"]["id"] == completed["data"]["object"]["setup_intent"]
    assert api.v1.events.retrieve(succeeded["id"]).type == "setup_intent.succeeded"


def test_the_stand_ins_setup_page_saves_the_card_typed(standin, api):
    customer = api.v1.customers.create({"name": "Ada Archer"})
    session = setup_session(api, customer.id)
    address = urlsplit(session.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("GET", address.path)
    assert 'name="card_number"' in connection.getresponse().read().decode()
    body = urlencode({"method": "card", "card_number": "4000002760003184"})
    connection.request("POST", address.path, body, {"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    assert answer.status == 303 and session.id in answer.headers["Location"]
    done = api.v1.checkout.sessions.retrieve(session.id, {"expand": ["setup_intent.payment_method"]})
    assert done.setup_intent.payment_method.card.last4 == "3184"
