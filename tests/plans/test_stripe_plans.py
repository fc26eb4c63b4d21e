"""Payment plans and automatic top-ups through Stripe, against the stand-in driven by the real `stripe` library.

The firm's default trust account takes its payments through Stripe. Client A saves a card (or a bank account) on
Stripe's setup page; the lawyer sets up a plan on a sent request; the worker runs on the plan's dates with the clock
moved. Each instalment is an off-session PaymentIntent asked with the instalment's key: booked once with Stripe's fee
whatever is repeated, declined under the retry rule, a bank wanting its cardholder getting the client a link, a bank
payment counted only when its webhook says it arrived, and a chargeback on an instalment booked as on any payment.
"""

import os
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import ON_POSTGRES, signed_in
from tests.factories import trust_ledger
from tests.ledger.test_races import at_once, failures
from tests.matters.test_evergreen import deposit, spend
from tests.plans.steps import (
    AUTHENTICATES,
    DECLINES,
    GOOD,
    instalments,
    noon,
    outbox,
    plan,
    run_days,
    set_up_plan,
    with_evergreen,
    worker_on,
)
from tests.requests.steps import (
    deposits,
    gen_firm,
    gen_request,
    held_for,
    payments,
    send,
    spend_and_fund_another_client,
    text,
)
from tests.stripe_standin import card_fee, deliver
from trustweb.extensions import db
from trustweb.models import (
    AuditEvent,
    BankAccount,
    Contact,
    Dispute,
    LedgerAccount,
    Matter,
    PaymentStatus,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.services import method_setup, plan_runs, plans, saved_methods, top_ups
from trustweb.services.books import check_books, shortfalls
from trustweb.services.plans import add_months
from trustweb.services.replenishment import replenish_all
from trustweb.services.trust import Holder, firm_today

SESSION = re.compile(r"/pay/(cs_test_\w+)")
INTENTS = "/v1/payment_intents"
# A lost answer makes the stripe library retry after a sleep, which fails (EINVAL) under CI's moved clock
# (libfaketime 0.9.10 on Python 3.11, wolfcw/libfaketime#426); these run in the suite's real-clock passes.
STRIPE_RETRIES_SLEEP = pytest.mark.skipif(
    "FAKETIME" in os.environ, reason="the stripe library's retry sleeps, which libfaketime breaks"
)


@pytest.fixture
def app(stripe_app):
    return stripe_app


@pytest.fixture
def firm(app):
    """The default trust account on Stripe, fees billed to operating; client A's $5,000.00 request, sent."""
    with app.app_context():
        setup = gen_firm()
        account = db.session.get(BankAccount, setup.account)
        account.processor, account.is_default, account.fee_mode = "stripe", True, "billed"
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        db.session.commit()
        request_id = gen_request(setup, amount_cents=500_000, allow_partial=True)
        send(request_id, setup.lawyer)
        yield setup, request_id


def saved_on_stripe(setup, standin, number=GOOD, kind="card"):
    """Client A saves a card (or bank account) on Stripe's setup-mode page; the method's id."""
    url = method_setup.start_setup(
        db.session.get(Contact, setup.client_a),
        return_url="http://localhost/back",
        cancel_url="http://localhost/cancel",
        consent_ip="203.0.113.9",
        actor="client",
    )
    session_id = SESSION.search(url).group(1)
    assert standin.session(session_id)["mode"] == "setup"
    standin.complete(session_id, method=kind, card_number=number)
    account = db.session.get(BankAccount, setup.account)
    return method_setup.record_setup(method_setup.read_setup(account, session_id)).id


def intents(standin):
    """The PaymentIntents TrustWeb asked Stripe for: (calls, distinct PaymentIntents made)."""
    calls = standin.calls("POST", INTENTS)
    made = {call.response["id"] for call in calls if call.status == 200}
    return calls, made


def key(plan_id, day, attempt=1):
    return f"saved-plan-{plan_id}-{day.isoformat()}-{attempt}"


def owed_by_the_firm():
    """What the firm owes the trust account (its shortfall ledger)."""
    return -(db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "shortfall")) or 0)


def books_apart_from_shortfalls():
    named = set(shortfalls())
    return [problem for problem in check_books() if problem not in named]


def test_the_worker_charges_an_off_session_payment_intent_once_with_stripes_fee(app, firm, standin):
    setup, request_id = firm
    start = firm_today()
    method_id = saved_on_stripe(setup, standin)
    plan_id = set_up_plan(setup, method_id, request_id=request_id, amount_cents=200_000)
    method = db.session.get(SavedMethod, method_id)

    said = run_days(start, start + timedelta(days=2))

    assert said == [f"Plan {plan_id}: $2,000.00 charged for {start}."]
    [call], made = intents(standin)
    assert call.idempotency_key == key(plan_id, start)
    params = call.params
    assert (params["amount"], params["currency"], params["off_session"], params["confirm"]) == (
        "200000",
        "usd",
        "true",
        "true",
    )
    assert (params["customer"], params["payment_method"]) == (method.customer_reference, method.method_reference)
    assert params["metadata"]["payment_key"] == f"plan-{plan_id}-{start.isoformat()}-1"
    [intent_id] = made
    charge = standin.charge(intent_id)
    fee = standin.get(charge["balance_transaction"])["fee"]
    assert fee == card_fee(200_000)

    [payment] = payments()
    assert (payment.status, payment.amount_cents, payment.fee_cents) == ("succeeded", 200_000, fee)
    assert (payment.processor, payment.processor_reference, payment.card_last4) == ("stripe", intent_id, "4242")
    assert deposits() == 1 and held_for(setup) == (200_000, 200_000)  # the client is credited in full
    expense = db.session.scalar(select(LedgerAccount).where(LedgerAccount.kind == "expense"))
    assert expense.balance_cents == fee  # the fee is the firm's, from operating (billed)
    assert db.session.get(TrustRequest, request_id).paid_cents == 200_000
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.payment_id, made_one.attempts) == ("succeeded", payment.id, 1)
    assert plan(plan_id).next_due_on == add_months(start, 1)
    assert len(outbox("receipt", "ada@example.com")) == 1
    assert check_books() == []


def test_a_crash_before_the_booking_asks_stripe_again_with_the_same_key_and_gets_the_same_intent(
    app, firm, standin, monkeypatch
):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin), request_id=request_id, amount_cents=200_000)
    book_payment = saved_methods.book_payment

    def crash(*args, **kwargs):
        raise RuntimeError("the worker's machine lost power")

    monkeypatch.setattr(saved_methods, "book_payment", crash)
    with pytest.raises(RuntimeError):
        worker_on(start)
    db.session.rollback()
    assert payments() == [] and instalments(plan_id)[0].status == "pending"
    monkeypatch.setattr(saved_methods, "book_payment", book_payment)

    worker_on(start)
    worker_on(start)
    worker_on(start + timedelta(days=1))

    calls, made = intents(standin)
    assert [c.idempotency_key for c in calls] == [key(plan_id, start)] * 2
    assert [c.replayed for c in calls] == [False, True]  # Stripe answered the repeat with the first intent
    assert len(made) == 1
    [payment] = payments()
    assert payment.status == "succeeded" and payment.processor_reference in made
    assert deposits() == 1 and held_for(setup) == (200_000, 200_000)
    assert check_books() == []


def test_a_bank_that_wants_the_cardholder_sends_the_client_a_link_and_is_not_retried(
    app, firm, standin, mailbox, client
):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin, AUTHENTICATES), request_id=request_id)

    run_days(start, start + timedelta(days=10))

    calls, made = intents(standin)
    assert [(c.status, c.idempotency_key) for c in calls] == [(402, key(plan_id, start))]
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.attempts, made_one.next_attempt_on) == ("action_required", 1, None)
    [failed] = payments()
    assert failed.status == "failed" and "confirm this payment" in failed.failure_message and deposits() == 0
    assert plan(plan_id).status == "active" and plan(plan_id).next_due_on == add_months(start, 1)
    [notice] = outbox("plan_notice", "ada@example.com")
    assert notice.subject == "Please confirm your payment of $2,000.00"
    last_day = time_machine.travel(noon(start + timedelta(days=10)), tick=False)
    db.session.rollback()
    with last_day:
        [email] = [m for m in mailbox.to("ada@example.com") if "confirm" in m["Subject"]]
        page = client.get(mailbox.pay_link(email).removeprefix("http://localhost"))
    assert page.status_code == 200 and "$5,000.00" in text(page)


def test_a_declined_card_is_retried_3_then_5_days_later_each_with_its_own_key(app, firm, standin):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin, DECLINES), request_id=request_id)

    run_days(start, start + timedelta(days=20))

    calls, _ = intents(standin)
    retried = [start, start + timedelta(days=3), start + timedelta(days=8)]
    assert [(c.status, c.idempotency_key) for c in calls] == [(402, key(plan_id, start, n)) for n in (1, 2, 3)]
    assert [p.received_on for p in payments(PaymentStatus.FAILED)] == retried
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.attempts) == ("failed", 3)
    assert plan(plan_id).status == "paused" and plan(plan_id).next_due_on == add_months(start, 1)
    assert len(outbox("plan_notice", "ada@example.com")) == 3 and deposits() == 0


def test_a_chargeback_on_an_instalment_is_booked_as_on_any_payment_and_the_plan_page_shows_it(
    app, firm, standin, client
):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin), request_id=request_id, amount_cents=200_000)
    worker_on(start)
    [payment] = payments()
    # Most of it was paid out (a filing fee); client B has money in the same account.
    spend_and_fund_another_client(setup, 150_000, 500_000)
    owed_before = -(
        db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "shortfall")) or 0
    )
    payment_id, receipt, intent_id = payment.id, payment.receipt_number, payment.processor_reference
    db.session.rollback()  # the webhook is another request: this test holds no transaction open meanwhile

    dispute = standin.dispute(intent_id, fee_cents=1_500)
    for _ in range(2):
        assert deliver(client, standin, standin.charge_dispute_created(dispute["id"])).status_code == 200

    db.session.expire_all()
    [booked] = db.session.scalars(select(Dispute)).all()
    assert (booked.payment_id, booked.client_cents, booked.firm_cents) == (payment_id, 50_000, 150_000)
    assert held_for(setup) == (0, 0)
    assert held_for(setup, setup.client_b, setup.matter_b1) == (500_000, 500_000)  # never another client's money
    assert owed_by_the_firm() - owed_before == 150_000  # the part spent; the dispute fee is billed to operating
    expense = db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "expense"))
    assert expense == card_fee(200_000) + 1_500
    assert db.session.get(TrustRequest, request_id).paid_cents == 0
    assert books_apart_from_shortfalls() == []
    # The instalment was charged; its payment is disputed, and the plan page and the payment page say so.
    [made_one] = instalments(plan_id)
    assert made_one.status == "succeeded" and made_one.payment.status == "disputed"
    db.session.rollback()
    lawyer = signed_in(app, setup.lawyer)
    page = lawyer.get(f"/plans/{plan_id}")
    assert page.status_code == 200 and f"{receipt}, disputed" in text(page)
    payment_page = lawyer.get(f"/bills/payments/{payment_id}")
    assert payment_page.status_code == 200 and "Disputed" in text(payment_page)


@pytest.mark.parametrize("succeeded", [True, False], ids=["arrives", "fails"])
def test_a_bank_payment_counts_only_when_its_webhook_says_it_arrived(app, firm, standin, client, succeeded):
    """The bank account is debited over days: meanwhile the instalment waits with its payment, the next date is not
    charged, and the plan does not move past it; then it is paid (the plan moves on, its next date charged once) or
    it failed (a decline under the retry rule)."""
    setup, request_id = firm
    start = firm_today()
    method_id = saved_on_stripe(setup, standin, kind="us_bank_account")
    plan_id = set_up_plan(setup, method_id, request_id=request_id, amount_cents=100_000, frequency="weekly")

    said = run_days(start, start + timedelta(days=8))  # past the next week's date, the bank still debiting

    assert said == [f"Plan {plan_id}: $1,000.00 asked of the bank for {start}."]
    calls, made = intents(standin)
    assert [c.idempotency_key for c in calls] == [key(plan_id, start)]
    [pending] = payments()
    [waiting] = instalments(plan_id)
    assert (pending.status, pending.method, deposits()) == ("pending", "ach", 0)
    assert (waiting.status, waiting.payment_id, waiting.attempts) == ("pending", pending.id, 0)
    assert plan(plan_id).next_due_on == start  # not moved past an instalment not paid yet
    pending_id, reference = pending.id, pending.processor_reference
    db.session.rollback()
    page = signed_in(app, setup.lawyer).get(f"/plans/{plan_id}")
    assert "Pending: bank payment on its way" in text(page)

    standin.settle_intent(reference, succeeded=succeeded)
    event = (standin.payment_intent_succeeded if succeeded else standin.payment_intent_payment_failed)(reference)
    with time_machine.travel(noon(start + timedelta(days=9)), tick=False):
        assert deliver(client, standin, event).status_code == 200
    day = start + timedelta(days=9)
    said = run_days(day, day + timedelta(days=1))

    calls, made = intents(standin)
    first = instalments(plan_id)[0]
    if succeeded:
        assert (first.status, first.payment_id, first.attempts) == ("succeeded", pending_id, 1)
        # The plan moved on to the week it had held back, asked once on this pass, and waits for that one in turn.
        week = start + timedelta(days=7)
        assert [c.idempotency_key for c in calls] == [key(plan_id, start), key(plan_id, week)]
        assert [(i.due_on, i.status) for i in instalments(plan_id)] == [(start, "succeeded"), (week, "pending")]
        assert plan(plan_id).next_due_on == week
        assert said[0] == f"Plan {plan_id}: $1,000.00 charged for {start}."
    else:
        assert (first.status, first.payment_id, first.attempts) == ("pending", None, 1)
        assert first.next_attempt_on == day + timedelta(days=3)
        assert first.failure_message == "The payment did not go through."
        assert plan(plan_id).next_due_on == start and plan(plan_id).failed_attempts == 1
        assert len(outbox("plan_notice", "ada@example.com")) == 1
        run_days(day + timedelta(days=2), day + timedelta(days=3))  # the retry, with the next attempt's key
        calls, _ = intents(standin)
        assert [c.idempotency_key for c in calls] == [key(plan_id, start), key(plan_id, start, 2)]
    assert books_apart_from_shortfalls() == []


def test_a_plan_stopped_while_its_bank_payment_is_on_its_way_records_it_when_it_arrives(app, firm, standin, client):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin, kind="us_bank_account"), request_id=request_id)
    worker_on(start)
    plans.stop(plan(plan_id), db.session.get(User, setup.lawyer))
    [waiting] = instalments(plan_id)
    assert waiting.status == "pending" and waiting.payment_id is not None  # a stop cancels only a waiting retry

    reference = waiting.payment.processor_reference
    db.session.rollback()
    standin.settle_intent(reference)
    assert deliver(client, standin, standin.payment_intent_succeeded(reference)).status_code == 200
    worker_on(start + timedelta(days=1))

    [paid] = instalments(plan_id)
    assert paid.status == "succeeded" and plan(plan_id).status == "stopped" and plan(plan_id).next_due_on is None
    assert len(intents(standin)[0]) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer at a time: no two workers overlap")
@pytest.mark.parametrize("kind", ["card", "us_bank_account"])
def test_three_workers_at_once_ask_stripe_once_and_record_the_instalment_once(app, firm, standin, client, kind):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin, kind=kind), request_id=request_id)
    db.session.rollback()

    def workers():
        outcomes = at_once(app, [plan_runs.run_due] * 3)
        assert failures(outcomes) == [] and all(refused == [] for _, refused in outcomes)
        db.session.expire_all()

    workers()
    calls, made = intents(standin)
    assert len(made) == 1 and {c.idempotency_key for c in calls} == {key(plan_id, start)}
    [payment] = payments()
    [made_one] = instalments(plan_id)
    if kind == "us_bank_account":  # on its way: recorded once as such; then its webhook, and three workers again
        assert (payment.status, made_one.status, made_one.payment_id) == ("pending", "pending", payment.id)
        reference = payment.processor_reference
        db.session.rollback()
        standin.settle_intent(reference)
        assert deliver(client, standin, standin.payment_intent_succeeded(reference)).status_code == 200
        workers()
        [payment] = payments()
        [made_one] = instalments(plan_id)
        on_its_way = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.instalment_on_its_way"))
        assert len(on_its_way.all()) == 1
    assert (payment.status, made_one.status, made_one.payment_id) == ("succeeded", "succeeded", payment.id)
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.instalment_paid")).all()
    assert len(paid) == 1 and deposits() == 1 and plan(plan_id).next_due_on == add_months(start, 1)
    assert len(intents(standin)[1]) == 1
    assert books_apart_from_shortfalls() == []


def test_an_automatic_top_up_is_charged_through_stripe_once(app, firm, standin):
    setup, _ = firm
    with_evergreen(setup)
    db.session.commit()
    deposit(setup, 250_000)
    method_id = saved_on_stripe(setup, standin)
    top_ups.authorise(
        db.session.get(Contact, setup.client_a),
        db.session.get(Matter, setup.matter_a1),
        db.session.get(SavedMethod, method_id),
        ip="203.0.113.9",
    )
    spend(setup, 61_287)  # $1,887.13 held

    done, refused = replenish_all()
    assert refused == [] and "$3,112.87" in done[0]
    assert replenish_all() == ([], [])

    [call], made = intents(standin)
    [payment] = payments()
    assert call.idempotency_key == f"saved-evergreen-{setup.matter_a1}-{payment.trust_request_id}-1"
    assert call.params["amount"] == "311287" and call.params["off_session"] == "true"
    assert (payment.status, payment.amount_cents, payment.fee_cents) == ("succeeded", 311_287, card_fee(311_287))
    assert payment.processor_reference in made
    assert trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1)).balance_cents == 500_000
    assert db.session.get(TrustRequest, payment.trust_request_id).status == "paid"
    assert check_books() == []


@STRIPE_RETRIES_SLEEP
def test_an_answer_lost_on_its_way_back_is_no_decline_and_the_next_pass_books_the_first_charge_once(
    app, firm, standin, client
):
    """Stripe took the money but its answer timed out: nothing is declined, nobody is emailed "declined", and the
    next pass asks with the same key, amount and description, so Stripe answers with the first charge: paid once."""
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin), request_id=request_id, amount_cents=200_000)
    standin.lose_answers(INTENTS)  # the library's own retry is lost too

    said = run_days(start, start)

    calls, _ = intents(standin)
    assert [c.lost for c in calls] == [True, True] and payments() == []
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.attempts, made_one.next_attempt_on) == ("pending", 0, start)
    assert "answer never came" in made_one.failure_message and "not charged" in said[0]
    assert outbox("plan_notice", "ada@example.com") == []  # the client is not told of a decline
    lawyer = db.session.get(User, setup.lawyer)
    assert [m.subject for m in outbox("plan_notice", lawyer.email)] == [
        f"Payment plan {plan_id} for Ada Archer: an instalment could not be charged (not a decline) ($2,000.00)"
    ]
    db.session.get(Contact, setup.client_a).name = "Ada Archer-Bell"  # nothing mutable goes into the charge
    db.session.commit()

    said = run_days(start, start + timedelta(days=3))

    calls, made = intents(standin)
    assert [c.idempotency_key for c in calls] == [key(plan_id, start)] * 3
    assert calls[-1].replayed and len(made) == 1 and calls[-1].params == calls[0].params
    [payment] = payments()
    assert (payment.status, payment.amount_cents, payment.processor_reference) == ("succeeded", 200_000, *made)
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.attempts, made_one.failure_message) == ("succeeded", 1, None)
    assert deposits() == 1 and held_for(setup) == (200_000, 200_000)
    assert outbox("plan_notice", "ada@example.com") == [] and len(outbox("receipt", "ada@example.com")) == 1
    assert check_books() == []


def test_a_charge_refused_before_stripe_is_asked_uses_no_retry_and_tells_the_lawyer_once(app, firm, standin):
    """The card expired after the plan was set up: nothing is asked of Stripe, and it is no decline."""
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, saved_on_stripe(setup, standin), request_id=request_id, amount_cents=500_000)
    db.session.get(SavedMethod, plan(plan_id).method_id).exp_year = start.year - 1  # the card has expired
    db.session.commit()

    said = run_days(start, start + timedelta(days=4))

    assert intents(standin)[0] == [] and payments() == []
    [made_one] = instalments(plan_id)
    assert (made_one.status, made_one.attempts) == ("pending", 0) and "expired" in made_one.failure_message
    assert len(said) == 1 and plan(plan_id).status == "active"
    assert outbox("plan_notice", "ada@example.com") == []
    assert len(outbox("plan_notice", db.session.get(User, setup.lawyer).email)) == 1


def _top_up_with_its_answer_lost(setup, standin):
    """Client A's first matter tops up from a Stripe card; the top-up's charge is taken but its answer lost."""
    with_evergreen(setup)
    db.session.commit()
    deposit(setup, 250_000)
    top_ups.authorise(
        db.session.get(Contact, setup.client_a),
        db.session.get(Matter, setup.matter_a1),
        db.session.get(SavedMethod, saved_on_stripe(setup, standin)),
        ip="203.0.113.9",
    )
    spend(setup, 61_287)  # $1,887.13 held: $3,112.87 asked
    standin.lose_answers(INTENTS)
    done, refused = replenish_all()
    assert done == [] and "could not be reached" in refused[0]
    [asked] = db.session.scalars(select(TrustRequest).where(TrustRequest.replenishes)).all()
    assert asked.status == "draft" and payments() == []


@STRIPE_RETRIES_SLEEP
@pytest.mark.parametrize("meanwhile", ["spent more", "money came back"])
def test_a_top_up_whose_answer_was_lost_is_asked_again_unchanged_and_booked_once(app, firm, standin, meanwhile):
    """The balance moves before the next pass: the draft's amount is not followed, nor the draft withdrawn; the same
    charge is asked again and Stripe answers with the first one."""
    setup, _ = firm
    emailed = len(outbox("request"))  # the fixture's request
    _top_up_with_its_answer_lost(setup, standin)
    if meanwhile == "spent more":
        spend(setup, 10_000)
    else:
        deposit(setup, 400_000)

    done, refused = replenish_all()

    assert refused == [] and "paid" in done[0]
    calls, made = intents(standin)
    assert len(calls) == 3 and calls[-1].replayed and calls[-1].params == calls[0].params and len(made) == 1
    [payment] = payments()
    assert (payment.status, payment.amount_cents, payment.processor_reference) == ("succeeded", 311_287, *made)
    assert db.session.get(TrustRequest, payment.trust_request_id).status == "paid"
    assert len(outbox("request")) == emailed  # the top-up's request never emailed
    assert check_books() == []
