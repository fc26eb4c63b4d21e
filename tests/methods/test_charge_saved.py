"""Charging a saved method: the pay page's path with nobody at the card, once per key, refused in words."""

import json

import pytest
from sqlalchemy import select, update

from tests.factories import trust_ledger
from tests.requests.steps import count, gen_firm, gen_request, payments, send
from trustweb.extensions import db
from trustweb.models import (
    AuditEvent,
    BankAccount,
    Contact,
    Matter,
    OutboxMessage,
    PaymentPlan,
    PaymentStatus,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.payments import AuthenticationRequired, CardDetails, Declined
from trustweb.payments import TestProcessor as Processor
from trustweb.refusals import ServiceError
from trustweb.services import saved_methods
from trustweb.services.payments import new_payment
from trustweb.services.trust import Holder, firm_today

CONSENT = "I authorise Hartwell Law to charge this card for payments I agree to."


def saved(setup, number="4242424242424242", contact_id=None, exp_year=None):
    """A card client A (or another) saved with the test processor; returns its id."""
    year = exp_year or firm_today().year + 3
    card = CardDetails(number=number, exp_month=12, exp_year=year, cvc="123", name="Ada Archer")
    details = Processor().save_card(card, "save-key")
    method = saved_methods.record_saved(
        db.session.get(Contact, contact_id or setup.client_a),
        db.session.get(BankAccount, setup.account),
        details,
        processor="test",
        consent_text=CONSENT,
        consent_ip="203.0.113.9",
        user=None,
        actor="client",
    )
    db.session.commit()
    return method.id


def charge(setup, request_id, method_id, amount=500_000, key="plan:1:2026-12-01:1", user=None):
    return saved_methods.charge(
        db.session.get(TrustRequest, request_id),
        db.session.get(SavedMethod, method_id),
        amount,
        key,
        user=db.session.get(User, user) if user else None,
        why="instalment",
    )


@pytest.fixture
def firm(app):
    with app.app_context():
        setup = gen_firm()
        request_id = gen_request(setup)
        send(request_id, setup.lawyer)
        yield setup, request_id


def test_a_saved_card_pays_the_request_into_the_clients_trust_ledger_once_per_key(firm):
    setup, request_id = firm
    method_id = saved(setup)
    method = db.session.get(SavedMethod, method_id)
    assert method.label == f"Visa ending 4242, expires 12/{firm_today().year + 3}"
    assert method.consent_text == CONSENT and method.consent_ip == "203.0.113.9"

    payment = charge(setup, request_id, method_id)
    again = charge(setup, request_id, method_id)

    assert again.id == payment.id
    assert payment.status == PaymentStatus.SUCCEEDED and payment.receipt_number
    assert payment.card_last4 == "4242" and payment.fee_cents == 14_530
    assert trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1)).balance_cents == 500_000
    assert db.session.get(TrustRequest, request_id).status == "paid"
    assert count(OutboxMessage, OutboxMessage.kind == "receipt") == 1
    saved_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "method.saved"))
    assert saved_event.actor == "client" and CONSENT in saved_event.after


@pytest.mark.parametrize(
    ("number", "error"), [("4000000000000341", Declined), ("4000002760003184", AuthenticationRequired)]
)
def test_a_decline_is_kept_as_a_failed_payment_and_nothing_is_booked(firm, number, error):
    setup, request_id = firm
    method_id = saved(setup, number)

    with pytest.raises(error):
        charge(setup, request_id, method_id)

    [failed] = payments()
    assert failed.status == PaymentStatus.FAILED and failed.journal_entry_id is None
    assert db.session.get(TrustRequest, request_id).paid_cents == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.failed"))
    assert ("authentication_required" in event.after) == (error is AuthenticationRequired)


def test_a_card_declined_when_saved_is_never_kept(firm):
    card = CardDetails(number="4000000000000002", exp_month=12, exp_year=2099, cvc="1", name="A")
    with pytest.raises(Declined):
        Processor().save_card(card, "k")


def test_refusals_before_the_processor_is_asked(firm):
    setup, request_id = firm
    other = saved(setup, contact_id=setup.client_b)
    with pytest.raises(ServiceError, match="its own client"):
        charge(setup, request_id, other)
    with pytest.raises(ServiceError, match="cannot pay more"):
        charge(setup, request_id, saved(setup), amount=500_001)
    expired = saved(setup, exp_year=firm_today().year - 1)
    with pytest.raises(ServiceError, match="has expired"):
        charge(setup, request_id, expired)
    assert payments() == []


def test_removing_a_method_pauses_its_plans_stops_its_top_ups_and_it_charges_no_more(firm):
    setup, request_id = firm
    method_id = saved(setup)
    matter = db.session.get(Matter, setup.matter_a1)
    matter.evergreen_method_id = method_id
    plan = PaymentPlan(
        contact_id=setup.client_a,
        trust_request_id=request_id,
        bank_account_id=setup.account,
        method_id=method_id,
        amount_cents=100_000,
        frequency="monthly",
        start_on=firm_today(),
        ends="paid",
        next_due_on=firm_today(),
    )
    db.session.add(plan)
    db.session.commit()

    saved_methods.remove(db.session.get(SavedMethod, method_id), user=db.session.get(User, setup.lawyer))

    db.session.expire_all()
    assert db.session.get(PaymentPlan, plan.id).status == "paused"
    assert db.session.get(Matter, setup.matter_a1).evergreen_method_id is None
    assert saved_methods.active_methods(db.session.get(Contact, setup.client_a)) == []
    with pytest.raises(ServiceError, match="was removed"):
        charge(setup, request_id, method_id)
    removed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "method.removed"))
    assert json.loads(removed.after)["plans_paused"] == [plan.id]


def test_a_method_removed_by_someone_else_meanwhile_is_not_charged(firm):
    """The worker holds the method as it was when it read the plan; staff remove it and commit before the charge."""
    setup, request_id = firm
    method_id = saved(setup)
    stale = db.session.get(SavedMethod, method_id)
    assert stale.active
    session = db.session()
    session.expire_on_commit = False  # the worker's copy stays as read
    session.commit()
    session.expire_on_commit = True
    with db.engine.begin() as other:  # another session: the session's copy of the method knows nothing of it
        other.execute(update(SavedMethod).where(SavedMethod.id == method_id).values(removed_at=utcnow()))

    with pytest.raises(ServiceError, match="was removed"):
        charge(setup, request_id, method_id)
    assert payments() == []


def test_a_charge_never_takes_what_a_payment_on_its_way_may_bring_in(firm):
    """A bank payment on its way (or a checkout open) holds back its amount: the saved method is not charged for it
    again."""
    setup, request_id = firm
    method_id = saved(setup)
    request = db.session.get(TrustRequest, request_id)
    db.session.add(
        new_payment(
            request,
            "bank-payment-on-its-way",
            500_000,
            method="ach",
            processor="test",
            status=PaymentStatus.PENDING,
            received_on=firm_today(),
        )
    )
    db.session.commit()

    with pytest.raises(ServiceError, match="in progress"):
        charge(setup, request_id, method_id)
    assert [p.status for p in payments()] == [PaymentStatus.PENDING]
