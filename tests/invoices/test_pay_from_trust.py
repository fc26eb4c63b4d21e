"""Invariant 8: trust money goes to operating only against an invoice sent, never beyond its balance due,
never beyond the client's available funds, never from another client. Worked examples and attempts to break it."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import ON_POSTGRES
from tests.factories import trust_ledger
from tests.invoices.steps import A1, apply, invoice_for, notice_period, retainer
from trustweb.extensions import db
from trustweb.ledger.rules import InsufficientFunds, UnclearedFunds
from trustweb.models import BankAccount, Invoice, LedgerAccount, TrustApplication
from trustweb.refusals import ServiceError
from trustweb.services import invoice_trust
from trustweb.services import invoices as invoice_service
from trustweb.services.books import check_books
from trustweb.services.trust import Holder, firm_today


def held(firm, client=None, matter=A1):
    ledger = trust_ledger(firm.account, Holder(client or firm.client_a, firm.matter_a1 if matter is A1 else matter))
    return (ledger.balance_cents, ledger.available_cents) if ledger else (0, 0)


def operating():
    rows = db.session.scalars(select(LedgerAccount).where(LedgerAccount.kind.in_(("operating", "receivable")))).all()
    return {row.kind: row.balance_cents for row in rows}


def test_a_retainer_in_an_invoice_sent_and_paid_from_trust_in_full(app, firm):
    with app.app_context():
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 1_000, 30_000)  # 10 hours at $300.00
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.number, invoice.total_cents, invoice.status) == ("INV-000001", 300_000, "sent")
        assert operating() == {"receivable": 300_000}
        assert invoice_trust.available_for(invoice, db.session.get(BankAccount, firm.account)) == 300_000
        apply(firm, invoice_id, 300_000)
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_cents) == ("paid", 300_000)
        assert held(firm) == (200_000, 200_000)
        assert operating() == {"receivable": 0, "operating": 300_000}
        assert check_books() == []


def test_an_invoice_larger_than_the_trust_held_is_paid_in_part(app, firm):
    with app.app_context():
        retainer(firm, 100_000)
        invoice_id = invoice_for(firm, 1_000, 30_000)
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice_trust.available_for(invoice, db.session.get(BankAccount, firm.account)) == 100_000
        apply(firm, invoice_id, 100_000)
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.due_cents) == ("partially_paid", 200_000)
        with pytest.raises(InsufficientFunds):
            apply(firm, invoice_id, 1, key="click-0000000000000000002")
        db.session.rollback()
        assert held(firm) == (0, 0) and check_books() == []


def test_more_than_the_balance_due_is_refused(app, firm):
    with app.app_context():
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 100, 10_000)  # $100.00
        with pytest.raises(ServiceError, match="apply at most that"):
            apply(firm, invoice_id, 10_001)
        db.session.rollback()
        assert held(firm) == (500_000, 500_000) and db.session.get(Invoice, invoice_id).paid_cents == 0


def test_another_clients_trust_is_never_taken(app, firm):
    with app.app_context():
        retainer(firm, 900_000, client=firm.client_b, matter=firm.matter_b1)
        invoice_id = invoice_for(firm, 100, 10_000)
        with pytest.raises(InsufficientFunds):
            apply(firm, invoice_id, 10_000)
        db.session.rollback()
        assert held(firm, firm.client_b, firm.matter_b1) == (900_000, 900_000)
        # Client-level funds are the same client's only.
        with pytest.raises(InsufficientFunds):
            apply(firm, invoice_id, 10_000, client_funds=True)
        db.session.rollback()
        assert held(firm, firm.client_b, firm.matter_b1) == (900_000, 900_000)


def test_client_level_funds_of_the_same_client_may_pay(app, firm):
    with app.app_context():
        retainer(firm, 50_000, matter=None)
        invoice_id = invoice_for(firm, 100, 10_000)
        apply(firm, invoice_id, 10_000, client_funds=True)
        assert db.session.get(Invoice, invoice_id).status == "paid"
        assert held(firm, matter=None) == (40_000, 40_000)


def test_uncleared_funds_are_refused(app, firm):
    with app.app_context():
        retainer(firm, 500_000, cleared=False)
        invoice_id = invoice_for(firm, 100, 10_000)
        with pytest.raises(UnclearedFunds):
            apply(firm, invoice_id, 10_000)


def test_a_draft_or_void_invoice_takes_nothing(app, firm):
    with app.app_context():
        retainer(firm, 500_000)
        draft_id = invoice_for(firm, 100, 10_000, send=False)
        with pytest.raises(ServiceError, match="is draft"):
            apply(firm, draft_id, 10_000)
        db.session.rollback()
        invoice = db.session.get(Invoice, draft_id)
        invoice.status = "void"
        db.session.commit()
        with pytest.raises(ServiceError, match="is void"):
            apply(firm, draft_id, 10_000)
        db.session.rollback()
        assert held(firm) == (500_000, 500_000)


def test_the_same_click_sent_twice_applies_once(app, firm):
    with app.app_context():
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 100, 10_000)
        first = apply(firm, invoice_id, 5_000)
        second = apply(firm, invoice_id, 5_000)
        assert first.id == second.id
        assert db.session.query(TrustApplication).count() == 1
        assert held(firm) == (495_000, 495_000)


def test_line_amounts_are_exact_in_cents():
    assert invoice_service.line_amount(125, 33_333) == 41_666  # 1.25 h at $333.33 = $416.6625
    assert invoice_service.line_amount(150, 33_333) == 50_000  # 1.5 h: $499.995 rounds half up
    assert invoice_service.line_amount(100, 0) == 0


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_two_people_applying_the_whole_balance_at_once_take_it_once(app, firm):
    with app.app_context():
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 100, 10_000)
    start, outcomes = threading.Barrier(6), []

    def click(n):
        with app.app_context():
            start.wait()
            try:
                apply(firm, invoice_id, 10_000, key=f"click-concurrent-00000000{n}")
                outcomes.append("applied")
            except ServiceError as error:
                db.session.rollback()
                outcomes.append(str(error))

    threads = [threading.Thread(target=click, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("applied") == 1
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).paid_cents == 10_000
        assert held(firm) == (490_000, 490_000)
        assert check_books() == []


def test_with_a_notice_period_the_transfer_waits_then_runs(app, firm):
    with app.app_context():
        notice_period(3)
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 100, 10_000)
        application = apply(firm, invoice_id, 10_000)
        assert (application.status, application.run_on) == ("scheduled", firm_today() + timedelta(days=3))
        # Nothing moves during the notice period, and the same money cannot be promised twice.
        assert held(firm) == (500_000, 500_000) and db.session.get(Invoice, invoice_id).paid_cents == 0
        with pytest.raises(ServiceError, match="already scheduled"):
            apply(firm, invoice_id, 1, key="click-0000000000000000002")
        db.session.rollback()
        assert invoice_trust.run_scheduled(firm_today()) == (0, [])
        assert held(firm) == (500_000, 500_000)
        assert invoice_trust.run_scheduled(firm_today() + timedelta(days=3)) == (1, [])
        assert held(firm) == (490_000, 490_000) and db.session.get(Invoice, invoice_id).status == "paid"
        assert invoice_trust.run_scheduled(firm_today() + timedelta(days=4)) == (0, [])  # once
        assert check_books() == []


def test_a_disputed_fee_is_never_taken(app, firm, client):
    with app.app_context():
        notice_period(3)
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 100, 10_000)
        apply(firm, invoice_id, 10_000)
        from trustweb.models import OutboxMessage

        notice = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "trust_notice")).one()
        path = re.search(r"/notice/[\w-]+", notice.text_body).group(0)
    response = client.get(path)
    assert (
        response.headers["X-Robots-Tag"] == "noindex, nofollow" and response.headers["Referrer-Policy"] == "no-referrer"
    )
    page = response.get_data(as_text=True)
    assert "I dispute this fee" in page and "$100.00" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(path, data={"csrf_token": token, "reason": "I was billed twice."})
    assert response.status_code == 303
    assert "You have disputed this fee" in client.get(path).get_data(as_text=True)
    with app.app_context():
        assert invoice_trust.run_scheduled(firm_today() + timedelta(days=5)) == (0, [])
        assert held(firm) == (500_000, 500_000) and db.session.get(Invoice, invoice_id).paid_cents == 0
        from trustweb.models import OutboxMessage

        told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lawyer_notice")).all()
        assert len(told) == 1 and "I was billed twice." in told[0].text_body
    assert client.get("/notice/" + "x" * 32).status_code == 404


def test_a_scheduled_transfer_is_refused_if_the_money_is_gone_by_then(app, firm):
    with app.app_context():
        notice_period(2)
        retainer(firm, 10_000)
        invoice_id = invoice_for(firm, 100, 10_000)
        apply(firm, invoice_id, 10_000)
        from trustweb.services.trust import record_disbursement

        record_disbursement(
            account=db.session.get(BankAccount, firm.account),
            holder=Holder(firm.client_a, firm.matter_a1),
            amount_cents=5_000,
            entry_date=firm_today(),
            payee="Court",
            description="Filing fee",
            method="wire",
        )
        made, refused = invoice_trust.run_scheduled(firm_today() + timedelta(days=2))
        assert made == 0 and "cannot be taken from it" in refused[0]
        assert held(firm) == (5_000, 5_000) and db.session.get(Invoice, invoice_id).paid_cents == 0
        assert db.session.scalar(select(TrustApplication.status)) == "cancelled"


def test_the_run_scheduled_command_reports_what_it_did(app, firm, runner):
    with app.app_context():
        notice_period(1)
        retainer(firm, 50_000)
        apply(firm, invoice_for(firm, 100, 10_000), 10_000)
    result = runner.invoke(args=["trustweb", "run-scheduled"])
    assert result.exit_code == 0 and "Made 0 scheduled payment(s) from trust;" in result.output
