"""The worker charges a plan's instalments on their dates, with the clock moved over months: the right amounts,
the last one capped at what is due, completion when the count is reached or the request is paid, a crash that
books once, declines under the retry rule, and a bank that wants its cardholder getting the client a link."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import trust_ledger
from tests.plans.steps import (
    AUTHENTICATES,
    DECLINES,
    card,
    firm_with_request,
    instalments,
    outbox,
    plan,
    run_days,
    set_up_plan,
    worker_on,
)
from tests.requests.steps import payments
from trustweb.extensions import db
from trustweb.models import AuditEvent, PaymentStatus, TrustRequest, User
from trustweb.services import plans, saved_methods
from trustweb.services.payments import record_manual_payment
from trustweb.services.plans import add_months
from trustweb.services.trust import Holder, firm_today


@pytest.fixture
def firm(app):
    with app.app_context():
        yield firm_with_request()


def test_a_monthly_plan_pays_the_request_over_three_months_the_last_instalment_capped_at_what_is_due(firm):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup), request_id=request_id, amount_cents=200_000)

    run_days(start, add_months(start, 3))

    made = instalments(plan_id)
    assert [(i.due_on, i.amount_cents, i.status) for i in made] == [
        (start, 200_000, "succeeded"),
        (add_months(start, 1), 200_000, "succeeded"),
        (add_months(start, 2), 100_000, "succeeded"),
    ]
    assert [p.amount_cents for p in payments(PaymentStatus.SUCCEEDED)] == [200_000, 200_000, 100_000]
    assert all(i.payment.receipt_number for i in made)
    assert plan(plan_id).status == "completed" and plan(plan_id).next_due_on is None
    assert db.session.get(TrustRequest, request_id).status == "paid"
    ledger = trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1))
    assert ledger.balance_cents == 500_000
    assert len(outbox("receipt", "ada@example.com")) == 3


def test_a_weekly_plan_for_three_payments_stops_after_the_third(firm):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(
        setup,
        card(setup),
        request_id=request_id,
        amount_cents=50_000,
        frequency="weekly",
        ends="count",
        payments_total=3,
    )

    run_days(start, start + timedelta(days=30))

    assert [i.due_on for i in instalments(plan_id)] == [start + timedelta(days=7 * n) for n in range(3)]
    assert plan(plan_id).status == "completed"
    assert db.session.get(TrustRequest, request_id).paid_cents == 150_000


def test_a_request_paid_another_way_completes_the_plan_and_nothing_more_is_charged(firm):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup), request_id=request_id, amount_cents=100_000, frequency="biweekly")
    run_days(start, start + timedelta(days=1))
    with worker_day(start + timedelta(days=2)):
        record_manual_payment(
            db.session.get(TrustRequest, request_id),
            amount_cents=400_000,
            method="cheque",
            received_on=firm_today(),
            reference="Cheque 12",
            payer="Ada Archer",
            idempotency_key="cheque-12-0000000000000",
            user=db.session.get(User, setup.lawyer),
        )

    run_days(start + timedelta(days=2), start + timedelta(days=30))

    assert len(instalments(plan_id)) == 1
    assert plan(plan_id).status == "completed"
    assert len(payments(PaymentStatus.SUCCEEDED)) == 2


def worker_day(day):
    import time_machine

    from tests.plans.steps import noon

    return time_machine.travel(noon(day), tick=False)


def test_an_ongoing_plan_makes_a_request_for_each_instalment_and_pays_it_without_emailing_it(firm):
    setup, _ = firm
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup), matter_id=setup.matter_a2, amount_cents=25_000)
    requests_sent_before = len(outbox("request"))

    run_days(start, add_months(start, 2))

    made = instalments(plan_id)
    assert [i.due_on for i in made] == [start, add_months(start, 1), add_months(start, 2)]
    paid_requests = [db.session.get(TrustRequest, i.trust_request_id) for i in made]
    assert [(r.status, r.amount_cents, r.matter_id) for r in paid_requests] == [("paid", 25_000, setup.matter_a2)] * 3
    assert len(outbox("request")) == requests_sent_before  # none of them emailed
    assert trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a2)).balance_cents == 75_000
    assert plan(plan_id).status == "active" and plan(plan_id).next_due_on == add_months(start, 3)


def test_a_crash_after_the_processor_charged_books_the_instalment_once_on_the_rerun(firm, monkeypatch):
    """The card is charged, then the worker dies before its transaction commits: the rerun asks the processor with
    the same key, gets the same charge back, and books it once."""
    setup, request_id = firm
    plan_id = set_up_plan(setup, card(setup), request_id=request_id, amount_cents=200_000)
    book_payment = saved_methods.book_payment
    charged = []
    original_charge = saved_methods.processor_for

    def crashing_book(*args, **kwargs):
        raise RuntimeError("the worker's machine lost power")

    def counting(*args, **kwargs):
        processor = original_charge(*args, **kwargs)
        real = processor.charge_saved

        def charge_saved(amount, **details):
            result = real(amount, **details)
            charged.append((details["idempotency_key"], result.reference))
            return result

        processor.charge_saved = charge_saved
        return processor

    monkeypatch.setattr(saved_methods, "processor_for", counting)
    monkeypatch.setattr(saved_methods, "book_payment", crashing_book)
    with pytest.raises(RuntimeError):
        worker_on(firm_today())
    db.session.rollback()
    assert payments() == [] and instalments(plan_id)[0].status == "pending"

    monkeypatch.setattr(saved_methods, "book_payment", book_payment)
    worker_on(firm_today())
    worker_on(firm_today())

    [payment] = payments()
    assert payment.status == "succeeded" and payment.amount_cents == 200_000
    assert len(charged) == 2 and charged[0] == charged[1]  # the same key, the same charge at the processor
    assert charged[0][0] == f"plan-{plan_id}-{firm_today().isoformat()}-1"
    assert payment.processor_reference == charged[0][1]
    assert trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1)).balance_cents == 200_000
    [made] = instalments(plan_id)
    assert made.status == "succeeded" and made.payment_id == payment.id and made.attempts == 1


def test_declines_are_retried_3_days_then_5_days_later_and_the_third_pauses_the_plan(firm, mailbox):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup, DECLINES), request_id=request_id)

    said = run_days(start, start + timedelta(days=20))

    [made] = instalments(plan_id)
    assert made.status == "failed" and made.attempts == 3
    failed = payments(PaymentStatus.FAILED)
    assert [p.received_on for p in failed] == [start, start + timedelta(days=3), start + timedelta(days=8)]
    assert plan(plan_id).status == "paused" and plan(plan_id).next_due_on == add_months(start, 1)
    assert "paused" in said[-1]
    lawyer_email = db.session.get(User, setup.lawyer).email
    last_day = worker_day(start + timedelta(days=20))
    db.session.rollback()  # the worker delivers next, in a transaction of its own, on the last day
    with last_day:
        to_client = mailbox.to("ada@example.com")
        to_lawyer = mailbox.to(lawyer_email)
    notices = [m for m in to_client if "declined" in m["Subject"]]
    assert len(notices) == 3 and "paused" in notices[-1]["Subject"]
    assert "/pay/" in mailbox.text(notices[0]) and "try it again on" in mailbox.text(notices[0])
    assert len([m for m in to_lawyer if f"Payment plan {plan_id}" in m["Subject"]]) == 3
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.instalment_failed")) is not None


def test_a_bank_that_wants_its_cardholder_gets_the_client_a_link_and_no_retry(app, firm, mailbox, client):
    setup, request_id = firm
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup, AUTHENTICATES), request_id=request_id)

    run_days(start, start + timedelta(days=10))

    [made] = instalments(plan_id)
    assert made.status == "action_required" and made.attempts == 1
    assert len(payments(PaymentStatus.FAILED)) == 1  # not retried
    assert plan(plan_id).status == "active" and plan(plan_id).next_due_on == add_months(start, 1)
    last_day = worker_day(start + timedelta(days=10))
    db.session.rollback()
    with last_day:
        [email] = [m for m in mailbox.to("ada@example.com") if "confirm" in m["Subject"]]
        page = client.get(mailbox.pay_link(email).removeprefix("http://localhost"))
    assert page.status_code == 200 and "$5,000.00" in page.get_data(as_text=True)


def test_reminders_pause_while_a_plan_is_active_on_the_request(firm):
    from trustweb.services.requests import due_for_reminder

    setup, request_id = firm
    request = db.session.get(TrustRequest, request_id)
    request.due_on = firm_today() + timedelta(days=1)
    db.session.commit()
    assert [r.id for r in due_for_reminder(firm_today())] == [request_id]
    plan_id = set_up_plan(setup, card(setup), request_id=request_id, start_on=firm_today() + timedelta(days=1))
    assert due_for_reminder(firm_today()) == []
    plans.pause(plan(plan_id), db.session.get(User, setup.lawyer))
    assert [r.id for r in due_for_reminder(firm_today())] == [request_id]


def test_a_plan_on_an_invoice_pays_it_into_operating_in_weekly_instalments(firm):
    from tests.invoices.steps import invoice_for
    from trustweb.models import Invoice, LedgerAccount

    setup, _ = firm
    invoice_id = invoice_for(setup, 300, 15_000)  # $450.00
    start = firm_today()
    plan_id = set_up_plan(setup, card(setup), invoice_id=invoice_id, amount_cents=20_000, frequency="weekly")

    run_days(start, start + timedelta(days=21))

    assert [(i.amount_cents, i.status) for i in instalments(plan_id)] == [
        (20_000, "succeeded"),
        (20_000, "succeeded"),
        (5_000, "succeeded"),
    ]
    assert db.session.get(Invoice, invoice_id).status == "paid" and plan(plan_id).status == "completed"
    receivable = db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "receivable"))
    assert receivable == 0
