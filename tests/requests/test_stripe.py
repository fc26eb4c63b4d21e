"""Real Stripe behaviour against a local stand-in: the official library calls it, webhooks are signed as Stripe signs.

The trust account takes payments through Stripe Checkout. Each test walks the firm's day: a client pays
(card or bank), Stripe keeps its fee, a refund, a chargeback after the money was spent, events delivered
again and out of order. After each, check-books is clean apart from the named shortfall the firm owes.
"""

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import ON_POSTGRES, post
from tests.requests.steps import (
    gen_firm,
    gen_sent_request,
    held_for,
    pay,
    pay_form,
    payments,
    refund,
    spend_and_fund_another_client,
    text,
)
from tests.stripe_standin import WEBHOOK_SECRET, deliver
from trustweb.extensions import db
from trustweb.models import BankAccount, Dispute, LedgerAccount, ProcessorEvent, Refund, TrustRequest, User
from trustweb.services.books import check_books, shortfalls
from trustweb.services.checkout import clear_due_payments
from trustweb.services.payments import record_manual_payment
from trustweb.services.trust import firm_today


@pytest.fixture
def app(stripe_app):
    return stripe_app


@pytest.fixture
def firm(app, client, auth):
    """The firm with its trust account on Stripe (fees kept from payouts, Stripe's default), the lawyer signed in."""
    with app.app_context():
        setup = gen_firm()
        account = db.session.get(BankAccount, setup.account)
        account.processor = "stripe"
        db.session.commit()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def checkout(app, firm, mailbox, amount, partial=True):
    """The client opens the emailed link and presses Continue: sent to Stripe's page; returns the session id."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=partial)
    payer = app.test_client()
    html, csrf, key = pay_form(payer, path)
    assert "Continue to secure payment" in html and 'name="number"' not in html  # no card form of ours
    response = payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": amount})
    assert response.status_code == 303, text(response)
    session_id = re.search(r"/pay/(cs_test_\w+)", response.headers["Location"]).group(1)
    return request_id, path, payer, session_id


def shortfall(app, firm):
    with app.app_context():
        return -(db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "shortfall")) or 0)


def books_apart_from_shortfalls(app):
    with app.app_context():
        named = set(shortfalls())
        return [problem for problem in check_books() if problem not in named]


def test_a_client_pays_by_card_on_stripes_page_and_the_webhook_posts_it_once(app, firm, client, mailbox, standin):
    request_id, path, payer, session_id = checkout(app, firm, mailbox, "1,000.00")
    [call] = standin.calls("POST", "/v1/checkout/sessions")
    assert dict(call.pairs)["line_items[0][price_data][unit_amount]"] == "100000"
    assert call.idempotency_key
    standin.complete(session_id)
    event = standin.checkout_session_completed(session_id)
    for _ in range(5):  # Stripe may deliver an event several times
        response = deliver(client, standin, event)
        assert response.status_code == 200
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.amount_cents, payment.fee_cents) == ("succeeded", 100_000, 2_930)
        # Invariant 6: the client is credited the full amount; Stripe kept its fee from the payout,
        # so the firm owes the trust account that fee until it replaces it.
        assert held_for(firm) == (100_000, 100_000)
        assert db.session.get(TrustRequest, request_id).paid_cents == 100_000
        assert db.session.query(ProcessorEvent).count() == 1
    assert shortfall(app, firm) == 2_930
    assert books_apart_from_shortfalls(app) == []
    # The payer comes back from Stripe: the receipt.
    back = payer.get(f"{path}/return?session_id={session_id}")
    assert back.status_code == 303 and "/receipts/R-000001" in back.headers["Location"]
    dashboard = text(client.get("/"))
    assert "The firm must replace" in dashboard and "$29.30</strong> owed to" in dashboard
    # The firm replaces the fee from operating: nothing is owed any more, and check-books is clean.
    with app.app_context():
        today = firm_today().isoformat()
    page = text(
        post(
            client,
            f"/trust/accounts/{firm.account}/replace-shortfall",
            {"amount": "29.30", "entry_date": today},
            follow_redirects=True,
        )
    )
    assert "replaced the shortfall" in page
    assert shortfall(app, firm) == 0
    with app.app_context():
        assert check_books() == []


def test_the_return_page_books_the_payment_when_it_comes_before_the_webhook(app, firm, mailbox, standin, client):
    request_id, path, payer, session_id = checkout(app, firm, mailbox, "500.00")
    standin.complete(session_id)
    assert "/receipts/" in payer.get(f"{path}/return?session_id={session_id}").headers["Location"]
    assert (
        deliver(client, standin, standin.checkout_session_completed(session_id)).json["outcome"].endswith("succeeded")
    )
    with app.app_context():
        assert len(payments("succeeded")) == 1 and held_for(firm) == (50_000, 50_000)


def test_a_bank_payment_is_pending_then_held_uncleared_then_cleared(app, firm, client, mailbox, standin):
    request_id, path, payer, session_id = checkout(app, firm, mailbox, "2,000.00")
    standin.complete(session_id, method="us_bank_account")
    deliver(client, standin, standin.checkout_session_completed(session_id))
    assert payer.get(f"{path}/return?session_id={session_id}").status_code == 202  # "on its way"
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.method) == ("pending", "ach")
        assert held_for(firm) == (0, 0)
    standin.settle_ach(session_id, succeeded=True)
    deliver(client, standin, standin.checkout_session_async_payment_succeeded(session_id))
    with app.app_context():
        [payment] = payments()
        assert payment.status == "succeeded" and payment.fee_cents == 500  # 0.8%, capped at $5.00
        # Held, not yet available: the account's hold (5 days) runs from Stripe's confirmation.
        assert held_for(firm) == (200_000, 0)
        assert payment.clears_on == firm_today() + timedelta(days=5)
        assert clear_due_payments() == 0
        # Five days later (the hold is moved to today rather than the clock forward):
        payment.clears_on = firm_today()
        db.session.commit()
        assert clear_due_payments() == 1
        assert held_for(firm) == (200_000, 200_000)
    assert books_apart_from_shortfalls(app) == []


def test_a_failed_bank_payment_books_nothing(app, firm, client, mailbox, standin):
    request_id, _, _, session_id = checkout(app, firm, mailbox, "2,000.00")
    standin.complete(session_id, method="us_bank_account")
    deliver(client, standin, standin.checkout_session_completed(session_id))
    standin.settle_ach(session_id, succeeded=False)
    deliver(client, standin, standin.checkout_session_async_payment_failed(session_id))
    with app.app_context():
        assert [p.status for p in payments()] == ["failed"]
        assert held_for(firm) == (0, 0)
        assert db.session.get(TrustRequest, request_id).paid_cents == 0
        assert check_books() == []


def paid_by_card(app, firm, client, mailbox, standin, amount="1,000.00"):
    request_id, _, _, session_id = checkout(app, firm, mailbox, amount)
    standin.complete(session_id)
    deliver(client, standin, standin.checkout_session_completed(session_id))
    with app.app_context():
        return request_id, session_id, payments()[-1].id


def test_refunds_through_stripe_partial_full_and_over_the_balance(app, firm, client, mailbox, standin):
    request_id, session_id, payment_id = paid_by_card(app, firm, client, mailbox, standin)
    assert "$300.00 of R-000001 refunded." in text(refund(client, payment_id, "300.00", reason="Overpaid", online=True))
    [call] = standin.calls("POST", "/v1/refunds")
    assert dict(call.pairs)["amount"] == "30000"
    assert "left to refund" in text(refund(client, payment_id, "700.01", reason="Overpaid", online=True))
    assert "$700.00 of R-000001 refunded." in text(refund(client, payment_id, "700.00", reason="Overpaid", online=True))
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.refunded_cents) == ("refunded", 100_000)
        assert held_for(firm) == (0, 0)
        trust_request = db.session.get(TrustRequest, request_id)
        # All it was paid is given back: as sent again, still asking the rest; the refund is counted beside it.
        assert (
            trust_request.status,
            trust_request.paid_cents,
            trust_request.refunded_cents,
            trust_request.due_cents,
        ) == ("viewed", 100_000, 100_000, 400_000)
    assert standin.charge(session_id)["amount_refunded"] == 100_000
    # Stripe reports the refunds it made for us: already booked, nothing happens twice.
    assert deliver(client, standin, standin.charge_refunded(session_id)).status_code == 200
    with app.app_context():
        assert payments()[0].refunded_cents == 100_000 and held_for(firm) == (0, 0)
    assert books_apart_from_shortfalls(app) == []


def test_a_refund_made_in_stripes_dashboard_is_booked_from_the_webhook(app, firm, client, mailbox, standin):
    _, session_id, _ = paid_by_card(app, firm, client, mailbox, standin)
    standin.client().v1.refunds.create(
        {"payment_intent": standin.session(session_id)["payment_intent"], "amount": 25_000}
    )
    event = standin.charge_refunded(session_id)
    for _ in range(3):
        deliver(client, standin, event)
    with app.app_context():
        assert payments()[0].refunded_cents == 25_000
        assert held_for(firm) == (75_000, 75_000)
    assert books_apart_from_shortfalls(app) == []


def test_a_chargeback_after_the_money_was_spent_never_touches_another_client(app, firm, client, mailbox, standin):
    request_id, session_id, payment_id = paid_by_card(app, firm, client, mailbox, standin)
    with app.app_context():
        # Most of the client's money was paid out (a filing fee); another client has money in the same account.
        spend_and_fund_another_client(firm, 80_000, 500_000)
    owed_before = shortfall(app, firm)
    dispute = standin.dispute(session_id, fee_cents=1_500)
    for _ in range(2):
        assert deliver(client, standin, standin.charge_dispute_created(dispute["id"])).status_code == 200
    with app.app_context():
        [booked] = db.session.scalars(select(Dispute)).all()
        assert (booked.client_cents, booked.firm_cents) == (20_000, 80_000)
        assert held_for(firm) == (0, 0)
        assert held_for(firm, firm.client_b, firm.matter_b1) == (500_000, 500_000)  # untouched
        assert payments()[0].status == "disputed"
        assert db.session.get(TrustRequest, request_id).paid_cents == 0
    # The spent part and the dispute fee are owed by the firm, named as such by check-books.
    assert shortfall(app, firm) - owed_before == 80_000 + 1_500
    assert books_apart_from_shortfalls(app) == []

    # The firm wins: the money goes back where it was taken from (Stripe keeps the fee this time).
    standin.close_dispute(dispute["id"], won=True, return_fee=False)
    deliver(client, standin, standin.charge_dispute_closed(dispute["id"]))
    with app.app_context():
        assert held_for(firm) == (20_000, 20_000)
        assert held_for(firm, firm.client_b, firm.matter_b1) == (500_000, 500_000)
        assert payments()[0].status == "succeeded"
        assert db.session.get(TrustRequest, request_id).paid_cents == 100_000
    assert shortfall(app, firm) - owed_before == 1_500  # the dispute fee stays the firm's cost
    assert books_apart_from_shortfalls(app) == []


def test_a_dispute_won_with_the_fee_returned_owes_nothing(app, firm, client, mailbox, standin):
    _, session_id, _ = paid_by_card(app, firm, client, mailbox, standin)
    owed_before = shortfall(app, firm)
    dispute = standin.dispute(session_id, fee_cents=1_500)
    deliver(client, standin, standin.charge_dispute_created(dispute["id"]))
    assert shortfall(app, firm) - owed_before == 1_500
    standin.close_dispute(dispute["id"], won=True)  # the fee comes back with the money
    deliver(client, standin, standin.charge_dispute_closed(dispute["id"]))
    assert shortfall(app, firm) == owed_before
    with app.app_context():
        assert held_for(firm) == (100_000, 100_000)
    assert books_apart_from_shortfalls(app) == []


def test_events_out_of_order_end_the_same(app, firm, client, mailbox, standin):
    """The dispute closes before we hear it opened, and the refund comes before the payment's own event."""
    _, _, _, session_id = checkout(app, firm, mailbox, "1,000.00")
    standin.complete(session_id)
    standin.client().v1.refunds.create(
        {"payment_intent": standin.session(session_id)["payment_intent"], "amount": 10_000}
    )
    deliver(client, standin, standin.charge_refunded(session_id))
    deliver(client, standin, standin.checkout_session_completed(session_id))
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.refunded_cents) == ("succeeded", 10_000)
        assert held_for(firm) == (90_000, 90_000)
    dispute = standin.dispute(session_id, amount=90_000)
    standin.close_dispute(dispute["id"], won=False)
    deliver(client, standin, standin.charge_dispute_closed(dispute["id"]))
    deliver(client, standin, standin.charge_dispute_created(dispute["id"]))
    with app.app_context():
        [booked] = db.session.scalars(select(Dispute)).all()
        assert (booked.status, booked.amount_cents) == ("lost", 90_000)
        assert held_for(firm) == (0, 0)
    assert books_apart_from_shortfalls(app) == []


def test_forged_stale_and_foreign_events(app, firm, client, mailbox, standin):
    _, _, _, session_id = checkout(app, firm, mailbox, "1,000.00")
    standin.complete(session_id)
    event = standin.checkout_session_completed(session_id)
    assert deliver(client, standin, event, secret="whsec_notOurs").status_code == 400
    assert deliver(client, standin, event, timestamp=int(time.time()) - 301).status_code == 400
    assert client.post("/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}).status_code == 400
    with app.app_context():
        assert payments()[0].status == "pending" and held_for(firm) == (0, 0)
    # An event for a checkout that is not ours, and an event type we do not use: acknowledged, ignored.
    foreign = standin.event("checkout.session.completed", {**standin.session(session_id), "id": "cs_test_elsewhere"})
    assert deliver(client, standin, foreign).json["outcome"].startswith("ignored")
    assert (
        deliver(client, standin, standin.event("customer.created", {"id": "cus_1", "object": "customer"}))
        .json["outcome"]
        .startswith("ignored")
    )
    with app.app_context():
        assert payments()[0].status == "pending"


def test_an_event_signed_in_the_future_is_refused_like_a_stale_one(app, firm, client, mailbox, standin):
    """Five minutes' tolerance both ways: a clock a little ahead is fine, a signature from the future is not."""
    _, _, _, session_id = checkout(app, firm, mailbox, "1,000.00")
    standin.complete(session_id)
    event = standin.checkout_session_completed(session_id)
    refused = deliver(client, standin, event, timestamp=int(time.time()) + 301)
    assert refused.status_code == 400 and "five minutes" in refused.json["error"]
    with app.app_context():
        assert payments()[0].status == "pending" and held_for(firm) == (0, 0)
    assert deliver(client, standin, event, timestamp=int(time.time()) + 240).status_code == 200
    with app.app_context():
        assert payments()[0].status == "succeeded" and held_for(firm) == (100_000, 100_000)


def test_fees_billed_to_operating_leave_no_shortfall(app, firm, client, mailbox, standin):
    with app.app_context():
        db.session.get(BankAccount, firm.account).fee_mode = "billed"
        db.session.commit()
    paid_by_card(app, firm, client, mailbox, standin)
    assert shortfall(app, firm) == 0
    with app.app_context():
        expense = db.session.scalar(select(LedgerAccount).where(LedgerAccount.kind == "expense"))
        assert expense.balance_cents == 2_930
        assert check_books() == []


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_the_same_event_delivered_at_the_same_moment_posts_once(app, firm, client, mailbox, standin):
    _, _, _, session_id = checkout(app, firm, mailbox, "1,000.00")
    standin.complete(session_id)
    body, header = standin.signed(standin.checkout_session_completed(session_id), WEBHOOK_SECRET)
    start, statuses = threading.Barrier(6), []

    def deliver_once():
        webhook = app.test_client()
        start.wait()
        statuses.append(webhook.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": header}).status_code)

    threads = [threading.Thread(target=deliver_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    with app.app_context():
        assert [p.status for p in payments()] == ["succeeded"]
        assert held_for(firm) == (100_000, 100_000)
        assert db.session.query(ProcessorEvent).count() == 1
    assert books_apart_from_shortfalls(app) == []


def test_an_inquiry_withdraws_nothing_and_takes_nothing(app, firm, client, mailbox, standin):
    _, session_id, _ = paid_by_card(app, firm, client, mailbox, standin)
    dispute = standin.dispute(session_id)
    inquiry = standin.charge_dispute_created(dispute["id"])
    inquiry["data"]["object"]["status"] = "warning_needs_response"
    inquiry["data"]["object"]["balance_transactions"] = []
    assert deliver(client, standin, inquiry).json["outcome"].startswith("ignored: an inquiry")
    closed = standin.charge_dispute_closed(dispute["id"])
    closed["data"]["object"]["status"] = "warning_closed"
    assert deliver(client, standin, closed).json["outcome"].startswith("ignored")
    with app.app_context():
        assert held_for(firm) == (100_000, 100_000) and payments()[0].status == "succeeded"
        assert db.session.query(Dispute).count() == 0


def test_a_chargeback_on_a_payment_smaller_than_the_dispute_fee_is_booked(app, firm, client, mailbox, standin):
    _, session_id, _ = paid_by_card(app, firm, client, mailbox, standin, amount="10.00")
    dispute = standin.dispute(session_id, fee_cents=1_500)
    assert deliver(client, standin, standin.charge_dispute_created(dispute["id"])).status_code == 200
    with app.app_context():
        assert payments()[0].status == "disputed" and held_for(firm) == (0, 0)
    assert books_apart_from_shortfalls(app) == []


def test_a_payer_who_leaves_stripes_page_can_start_again(app, firm, client, mailbox, standin):
    request_id, path, payer, first = checkout(app, firm, mailbox, "5,000.00", partial=False)
    # Back from Stripe's page without paying: the pay page again, and Continue once more.
    _, csrf, key = pay_form(payer, path)
    response = payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": "5000.00"})
    assert response.status_code == 303, text(response)
    assert standin.session(first)["status"] == "expired"
    with app.app_context():
        assert [p.status for p in payments()] == ["failed", "pending"]


def test_a_checkout_finished_after_the_request_was_paid_by_cheque_is_booked_not_lost(
    app, firm, client, mailbox, standin
):
    request_id, path, payer, session_id = checkout(app, firm, mailbox, "5,000.00", partial=False)
    with app.app_context():
        record_manual_payment(
            db.session.get(TrustRequest, request_id),
            amount_cents=500_000,
            method="cheque",
            received_on=firm_today(),
            reference="4417",
            payer="Ada Archer",
            cleared=True,
            idempotency_key="cheque-000000000000000001",
            user=db.session.get(User, firm.lawyer),
        )
    standin.complete(session_id)
    assert deliver(client, standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        # Both are in the client's ledger (the money is in the bank); the request counts what it asked for.
        assert held_for(firm) == (1_000_000, 1_000_000)
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("paid", 500_000)
        assert [p.status for p in payments()] == ["succeeded", "succeeded"]
    assert books_apart_from_shortfalls(app) == []


def test_stripes_events_never_touch_a_payment_stripe_did_not_take(app, firm, client, mailbox, standin):
    """A card payment taken by the test processor (before the firm moved to Stripe) and a cheque whose reference
    a clerk typed like a Stripe id: signed Stripe events naming them are acknowledged and change nothing."""
    with app.app_context():
        account = db.session.get(BankAccount, firm.account)
        account.processor = "test"
        db.session.commit()
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
    response, _ = pay(app.test_client(), path, "1,000.00")
    assert response.status_code == 303, text(response)
    with app.app_context():
        db.session.get(BankAccount, firm.account).processor = "stripe"
        record_manual_payment(
            db.session.get(TrustRequest, request_id),
            amount_cents=50_000,
            method="wire",
            received_on=firm_today(),
            reference="pi_3Typed0000000000000000",
            payer="Ada Archer",
            cleared=True,
            idempotency_key="wire-00000000000000000001",
            user=db.session.get(User, firm.lawyer),
        )
        card, wire = payments()
        assert (card.processor, wire.processor) == ("test", "manual")
        named = [(card.processor_reference, card.id), (wire.processor_reference, wire.id)]
        before = (held_for(firm), [(p.status, p.refunded_cents) for p in payments()])
    assert before[0] == (150_000, 150_000)

    for n, (reference, payment_id) in enumerate(named):
        metadata = {"payment": str(payment_id)}
        charge = {
            "id": f"ch_notours{n}",
            "object": "charge",
            "payment_intent": reference,
            "amount": 50_000,
            "amount_refunded": 10_000,
            "refunded": False,
            "metadata": metadata,
            "refunds": {"object": "list", "data": [{"id": f"re_notours{n}", "amount": 10_000, "status": "succeeded"}]},
        }
        dispute = {
            "id": f"dp_notours{n}",
            "object": "dispute",
            "charge": charge["id"],
            "payment_intent": reference,
            "amount": 50_000,
            "status": "lost",
            "metadata": metadata,
            "balance_transactions": [{"amount": -50_000, "fee": 1_500}],
        }
        session = {"id": reference, "object": "checkout.session", "payment_intent": reference, "metadata": metadata}
        for kind, obj in (
            ("charge.refunded", charge),
            ("charge.dispute.created", {**dispute, "status": "needs_response"}),
            ("charge.dispute.closed", dispute),
            ("checkout.session.completed", session),
            ("payment_intent.succeeded", {"id": reference, "object": "payment_intent", "metadata": metadata}),
        ):
            answer = deliver(client, standin, standin.event(kind, obj))
            assert answer.status_code == 200 and answer.json["outcome"].startswith("ignored"), (kind, answer.json)
    with app.app_context():
        assert (held_for(firm), [(p.status, p.refunded_cents) for p in payments()]) == before
        assert db.session.query(Dispute).count() == 0 and db.session.query(Refund).count() == 0
        assert check_books() == []
