"""The Stripe stand-in, driven by the real stripe library (StripeClient pointed at it) and real signature checks."""

import http.client
import json
import time
from urllib.parse import urlencode, urlsplit

import pytest
import stripe

from tests.stripe_standin import (
    ACH,
    PLACEHOLDER,
    TEST_API_KEY,
    WEBHOOK_SECRET,
    StandIn,
    ach_fee,
    card_fee,
    decode_params,
)

SUCCESS_URL = f"https://trust.example/payments/done?session_id={PLACEHOLDER}"
CANCEL_URL = "https://trust.example/payments/cancelled"


@pytest.fixture
def standin():
    with StandIn() as running:
        yield running
        assert running.errors == []  # no stand-in bug was hidden behind a 500


@pytest.fixture
def client(standin):
    return stripe.StripeClient(TEST_API_KEY, base_addresses={"api": standin.url}, max_network_retries=0)


def session_params(amount=12345, methods=("card", ACH), **extra):
    """What the app sends: one price_data line item, metadata on the session and on the payment intent."""
    return {
        "mode": "payment",
        "allowed_payment_method_types": list(methods),
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": amount, "product_data": {"name": "Retainer deposit"}},
                "quantity": 1,
            }
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "payment-17",
        "metadata": {"payment_id": "17", "matter_id": "4"},
        "payment_intent_data": {"metadata": {"payment_id": "17"}},
        **extra,
    }


def paid_session(client, standin, amount=12345, **complete):
    session = client.v1.checkout.sessions.create(params=session_params(amount))
    standin.complete(session.id, **complete)
    return session


def verified(standin, event, secret=WEBHOOK_SECRET, **kwargs):
    body, header = standin.signed(event, secret, **kwargs)
    return stripe.Webhook.construct_event(body, header, secret, tolerance=300)


# --------------------------------------------------------------------------- wire format


def test_nested_form_keys_decode_like_stripe():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][quantity]", "1"),
        ("expand[]", "a"),
        ("expand[]", "b"),
        ("metadata[0]", "kept as a hash"),
        ("mode", "payment"),
    ]
    assert decode_params(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "500"}, "quantity": "2"}, {"quantity": "1"}],
        "expand": ["a", "b"],
        "metadata": {"0": "kept as a hash"},
        "mode": "payment",
    }


def test_fees_follow_us_pricing_in_whole_cents():
    assert card_fee(12345) == 388  # 358.005 -> 358, + 30
    assert card_fee(500) == 45  # 14.5 rounds half up to 15, + 30
    assert card_fee(100) == 33
    assert ach_fee(12345) == 99  # 98.76 -> 99
    assert ach_fee(62_500) == 500
    assert ach_fee(5_000_000) == 500  # capped at $5.00


# --------------------------------------------------------------------------- checkout sessions


def test_create_session_returns_an_open_session_and_records_the_wire_request(standin, client):
    session = client.v1.checkout.sessions.create(
        params=session_params(customer_email="client@example.com"), options={"idempotency_key": "pay-17"}
    )

    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{standin.url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert (session.amount_total, session.currency, session.livemode) == (12345, "usd", False)
    assert session.client_reference_id == "payment-17"
    assert session.metadata.to_dict() == {"payment_id": "17", "matter_id": "4"}
    assert session.customer_email == "client@example.com"
    assert session.success_url == SUCCESS_URL  # Stripe keeps the placeholder; it fills it in on redirect
    assert standin.success_redirect_url(session.id) == SUCCESS_URL.replace(PLACEHOLDER, session.id)

    [request] = standin.calls("POST", "/v1/checkout/sessions")
    form = dict(request.pairs)
    assert form["line_items[0][price_data][unit_amount]"] == "12345"
    assert form["line_items[0][price_data][product_data][name]"] == "Retainer deposit"
    assert form["allowed_payment_method_types[1]"] == ACH
    assert form["payment_intent_data[metadata][payment_id]"] == "17"
    assert request.params["line_items"][0]["quantity"] == "1"
    assert request.header("authorization") == f"Bearer {TEST_API_KEY}"
    assert request.idempotency_key == "pay-17"
    assert request.header("Stripe-Version") == stripe.api_version
    assert request.status == 200


def test_same_idempotency_key_replays_the_same_session(standin, client):
    options = {"idempotency_key": "pay-17-attempt-1"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    again = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert again.id == first.id
    assert len(standin.sessions()) == 1
    assert [r.replayed for r in standin.calls("POST", "/v1/checkout/sessions")] == [False, True]
    assert again.last_response.headers["Idempotent-Replayed"] == "true"

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=session_params(amount=999), options=options)
    # Without a key of its own, the library generates a fresh one per call: a new session each time.
    other = client.v1.checkout.sessions.create(params=session_params())
    assert other.id != first.id
    assert standin.calls()[-1].idempotency_key


def test_create_session_refuses_what_stripe_refuses(client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": SUCCESS_URL})
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "line_items")

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.checkout.sessions.create(params=session_params(sucess_url="typo"))
    assert unknown.value.code == "parameter_unknown"
    assert "sucess_url" in unknown.value.user_message

    with pytest.raises(stripe.InvalidRequestError, match="at least"):
        client.v1.checkout.sessions.create(params=session_params(amount=20))


def test_payment_method_types_is_refused_since_the_endive_api_version(client):
    """Stripe removed the parameter from session creation in 2026-09-30.endive; the library pins a later version."""
    assert stripe.api_version >= "2026-09-30.endive"
    params = session_params()
    params["payment_method_types"] = params.pop("allowed_payment_method_types")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.checkout.sessions.create(params=params)
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "payment_method_types")

    session = client.v1.checkout.sessions.create(params=session_params())
    assert session.payment_method_types == ["card", ACH]


def test_retrieve_unknown_session_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert "No such checkout.session: 'cs_test_nope'" in error.value.user_message


def test_retrieve_with_expand_gives_the_card_fee(standin, client):
    session = paid_session(client, standin)

    plain = client.v1.checkout.sessions.retrieve(session.id)
    assert (plain.status, plain.payment_status, plain.url) == ("complete", "paid", None)
    assert plain.payment_intent.startswith("pi_")

    full = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge.balance_transaction"]}
    )
    intent = full.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.id, intent.status, intent.amount) == (plain.payment_intent, "succeeded", 12345)
    assert intent.metadata.to_dict() == {"payment_id": "17"}
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.amount, charge.amount_refunded, charge.payment_intent) == (12345, 0, intent.id)
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert (txn.amount, txn.fee, txn.net) == (12345, 388, 12345 - 388)
    assert dict(standin.calls("GET")[-1].pairs) == {"expand[0]": "payment_intent.latest_charge.balance_transaction"}

    only_intent = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert only_intent.payment_intent.latest_charge == charge.id

    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.amount"]})


def test_payment_intent_and_charge_endpoints(standin, client):
    session = paid_session(client, standin, fee_cents=400)
    pi_id = standin.session(session.id)["payment_intent"]

    intent = client.v1.payment_intents.retrieve(pi_id)
    charge = client.v1.charges.retrieve(intent.latest_charge, params={"expand": ["balance_transaction"]})
    assert charge.balance_transaction.fee == 400
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction.id)
    assert txn.source == charge.id
    with pytest.raises(stripe.InvalidRequestError, match="No such charge"):
        client.v1.charges.retrieve(pi_id)


def test_ach_is_pending_until_it_settles(standin, client):
    session = paid_session(client, standin, amount=200_000, method=ACH)
    pending = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert pending.payment_intent.status == "processing"
    assert pending.payment_intent.latest_charge.balance_transaction is None

    standin.settle_ach(session.id, succeeded=True)
    settled = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge.balance_transaction"]}
    )
    assert settled.payment_status == "paid"
    assert settled.payment_intent.status == "succeeded"
    assert settled.payment_intent.latest_charge.balance_transaction.fee == 500  # 0.8% of $2,000 is $16: capped

    failing = paid_session(client, standin, method=ACH)
    standin.settle_ach(failing.id, succeeded=False)
    failed = client.v1.checkout.sessions.retrieve(failing.id, params={"expand": ["payment_intent"]})
    assert (failed.status, failed.payment_status) == ("complete", "unpaid")
    assert failed.payment_intent.status == "requires_payment_method"
    assert failed.payment_intent.last_payment_error.code == "insufficient_funds"


def test_expire_an_open_session(standin, client):
    session = client.v1.checkout.sessions.create(params=session_params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    with pytest.raises(ValueError):
        standin.complete(session.id)


# --------------------------------------------------------------------------- refunds


def test_partial_then_full_refund_then_nothing_left(standin, client):
    session = paid_session(client, standin, amount=10_000)
    pi_id = standin.session(session.id)["payment_intent"]

    partial = client.v1.refunds.create(
        params={"payment_intent": pi_id, "amount": 2_500, "metadata": {"payment_id": "17"}},
        options={"idempotency_key": "refund-17-1"},
    )
    assert isinstance(partial, stripe.Refund)
    assert partial.id.startswith("re_")
    assert (partial.amount, partial.status, partial.payment_intent) == (2_500, "succeeded", pi_id)
    assert partial.metadata.to_dict() == {"payment_id": "17"}
    replay = client.v1.refunds.create(
        params={"payment_intent": pi_id, "amount": 2_500, "metadata": {"payment_id": "17"}},
        options={"idempotency_key": "refund-17-1"},
    )
    assert replay.id == partial.id
    assert standin.charge(pi_id)["amount_refunded"] == 2_500  # the replay refunded nothing more

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 7_501})
    assert (too_much.value.code, too_much.value.http_status) == ("amount_too_large", 400)
    assert "($75.01) is greater than unrefunded amount on charge ($75.00)" in too_much.value.user_message

    rest = client.v1.refunds.create(params={"charge": partial.charge})
    assert rest.amount == 7_500
    charge = client.v1.charges.retrieve(partial.charge, params={"expand": ["refunds"]})
    assert (charge.amount_refunded, charge.refunded) == (10_000, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, partial.id]
    listed = client.v1.refunds.list(params={"payment_intent": pi_id})
    assert {r.id for r in listed.data} == {rest.id, partial.id}

    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 1})
    assert nothing_left.value.code == "charge_already_refunded"


def test_refund_refusals(standin, client):
    unpaid = client.v1.checkout.sessions.create(params=session_params())
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    assert missing.value.code == "resource_missing"

    pending = paid_session(client, standin, method=ACH)
    with pytest.raises(stripe.InvalidRequestError, match="successful charge"):
        client.v1.refunds.create(params={"payment_intent": standin.session(pending.id)["payment_intent"]})

    disputed = paid_session(client, standin)
    standin.dispute(disputed.id)
    with pytest.raises(stripe.InvalidRequestError) as charged_back:
        client.v1.refunds.create(params={"payment_intent": standin.session(disputed.id)["payment_intent"]})
    assert charged_back.value.code == "charge_disputed"
    assert standin.session(unpaid.id)["payment_intent"] is None


# --------------------------------------------------------------------------- authentication and failures


@pytest.mark.parametrize("key", ["sk_live_realkey123456", "pk_test_publishable123", "sk_test_not_the_configured_one"])
def test_bad_api_key_raises_authentication_error(key):
    with StandIn(api_key=TEST_API_KEY) as standin:
        client = stripe.StripeClient(key, base_addresses={"api": standin.url}, max_network_retries=0)
        with pytest.raises(stripe.AuthenticationError) as error:
            client.v1.checkout.sessions.create(params=session_params())
        assert error.value.http_status == 401
        assert standin.sessions() == []


def test_missing_bearer_key_is_401(standin):
    connection = http.client.HTTPConnection(*urlsplit(standin.url).netloc.split(":"), timeout=5)
    connection.request("GET", "/v1/checkout/sessions/cs_test_x")
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]


def test_injected_failure_raises_api_error_once(standin, client):
    standin.fail_next("/v1/refunds")
    session = paid_session(client, standin)
    pi_id = standin.session(session.id)["payment_intent"]
    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(params={"payment_intent": pi_id})
    assert client.v1.refunds.create(params={"payment_intent": pi_id}).amount == 12345


def test_stopped_stand_in_refuses_connections():
    standin = StandIn().start()
    client = standin.client()
    client.v1.checkout.sessions.create(params=session_params())  # leaves a kept-alive connection behind
    standin.stop()
    with pytest.raises(stripe.APIConnectionError):
        client.v1.checkout.sessions.retrieve("cs_test_x")
    with pytest.raises(RuntimeError):
        _ = standin.url


# --------------------------------------------------------------------------- webhook events


def test_event_shape_is_stripes(standin, client):
    session = paid_session(client, standin)
    event = standin.checkout_session_completed(session.id, created=1_700_000_000, event_id="evt_fixed")
    assert set(event) == {
        "id",
        "object",
        "api_version",
        "created",
        "data",
        "livemode",
        "pending_webhooks",
        "request",
        "type",
    }
    assert event["id"] == "evt_fixed"
    assert event["object"] == "event"
    assert event["api_version"] == stripe.api_version
    assert event["created"] == 1_700_000_000
    assert (event["livemode"], event["pending_webhooks"]) == (False, 1)
    assert event["request"] == {"id": None, "idempotency_key": None}
    assert event["data"]["object"]["id"] == session.id
    assert event["data"]["object"]["payment_status"] == "paid"
    assert client.v1.events.retrieve("evt_fixed").type == "checkout.session.completed"


def test_signed_events_verify_with_the_real_library(standin, client):
    card = paid_session(client, standin)
    ach_ok = paid_session(client, standin, method=ACH)
    standin.settle_ach(ach_ok.id, succeeded=True)
    ach_bad = paid_session(client, standin, method=ACH)
    standin.settle_ach(ach_bad.id, succeeded=False)
    client.v1.refunds.create(params={"payment_intent": standin.session(card.id)["payment_intent"], "amount": 345})
    disputed = paid_session(client, standin, amount=5_000)
    dispute = standin.dispute(disputed.id)
    events = [
        (standin.checkout_session_completed(card.id), "checkout.session", card.id),
        (standin.checkout_session_async_payment_succeeded(ach_ok.id), "checkout.session", ach_ok.id),
        (standin.checkout_session_async_payment_failed(ach_bad.id), "checkout.session", ach_bad.id),
        (standin.charge_refunded(card.id), "charge", standin.charge(card.id)["id"]),
        (standin.charge_dispute_created(dispute["id"]), "dispute", dispute["id"]),
    ]
    standin.close_dispute(dispute["id"], won=False)
    events.append((standin.charge_dispute_closed(dispute["id"]), "dispute", dispute["id"]))

    for event, kind, object_id in events:
        constructed = verified(standin, event)
        assert isinstance(constructed, stripe.Event)
        assert (constructed.id, constructed.type) == (event["id"], event["type"])
        assert (constructed.data.object.object, constructed.data.object.id) == (kind, object_id)

    refunded = events[3][0]["data"]["object"]
    assert (refunded["amount_refunded"], refunded["refunded"]) == (345, False)
    assert "refunds" not in refunded
    assert (
        standin.charge_refunded(card.id, include_refunds=True)["data"]["object"]["refunds"]["data"][0]["amount"] == 345
    )
    assert events[4][0]["data"]["object"]["status"] == "needs_response"
    closed = events[5][0]["data"]["object"]
    assert (closed["status"], closed["reason"], closed["amount"]) == ("lost", "fraudulent", 5_000)
    assert closed["balance_transactions"][0]["amount"] == -5_000
    assert closed["balance_transactions"][0]["fee"] == 1500
    assert events[2][0]["data"]["object"]["payment_status"] == "unpaid"


def test_won_dispute_returns_the_money(standin, client):
    session = paid_session(client, standin)
    dispute = standin.dispute(session.id, amount=2_000, fee_cents=1500)
    closed = standin.close_dispute(dispute["id"], won=True)
    assert closed["status"] == "won"
    assert [(t["amount"], t["fee"]) for t in closed["balance_transactions"]] == [(-2_000, 1500), (2_000, -1500)]
    assert client.v1.disputes.retrieve(dispute["id"]).status == "won"


def test_signature_header_format(standin):
    event = standin.event("charge.refunded", {"id": "ch_1", "object": "charge"})
    body, header = standin.signed(event, WEBHOOK_SECRET, timestamp=1_700_000_000)
    assert json.loads(body) == event
    assert header.startswith("t=1700000000,v1=")
    assert len(header.split("v1=")[1]) == 64


def test_stale_and_wrong_secret_signatures_fail(standin):
    event = standin.event("checkout.session.completed", {"id": "cs_test_1", "object": "checkout.session"})

    body, header = standin.signed(event, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET, tolerance=300)

    body, header = standin.signed(event, "whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET, tolerance=300)

    body, header = standin.signed(event, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"cs_test_1", b"cs_test_2"), header, WEBHOOK_SECRET, tolerance=300)
    assert stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET, tolerance=300).id == event["id"]


# --------------------------------------------------------------------------- the checkout page


def page_request(standin, method, path, form=None):
    host, port = urlsplit(standin.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    body = urlencode(form) if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    result = response.status, response.getheader("Location"), response.read().decode()
    connection.close()
    return result


def test_checkout_page_pays_and_redirects_to_success_url(standin, client):
    session = client.v1.checkout.sessions.create(params=session_params())
    path = urlsplit(session.url).path

    status, _, page = page_request(standin, "GET", path)
    assert status == 200
    assert "$123.45" in page
    assert "Retainer deposit" in page
    assert f'href="{CANCEL_URL}"' in page
    assert "<script" not in page

    status, location, _ = page_request(standin, "POST", path, {"method": "card"})
    assert status == 303
    assert location == f"https://trust.example/payments/done?session_id={session.id}"
    assert standin.session(session.id)["payment_status"] == "paid"

    status, _, page = page_request(standin, "GET", path)
    assert "complete" in page
    status, _, _ = page_request(standin, "POST", path, {"method": "card"})
    assert status == 400


def test_checkout_page_ach_choice_leaves_payment_pending(standin, client):
    session = client.v1.checkout.sessions.create(params=session_params())
    status, location, _ = page_request(standin, "POST", urlsplit(session.url).path, {"method": ACH})
    assert status == 303
    assert standin.session(session.id)["payment_status"] == "unpaid"
    assert standin.payment_intent(standin.session(session.id)["payment_intent"])["status"] == "processing"
