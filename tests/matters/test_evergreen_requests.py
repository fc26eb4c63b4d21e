"""Evergreen top-ups asked for automatically: the worker's pass asks the client once when the matter falls below
its minimum, follows the balance with the same request, and withdraws it when the money is back; a request the
client has started paying is left alone, and the database never lets two be open for one matter."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import post, signed_in
from tests.matters.test_evergreen import deposit, spend
from tests.requests.steps import gen_firm
from trustweb.extensions import db
from trustweb.models import Contact, Matter, TrustRequest
from trustweb.services import jobs
from trustweb.services.payments import record_manual_payment
from trustweb.services.replenishment import replenish_all
from trustweb.services.trust import firm_today


@pytest.fixture
def app(mailing_app):
    return mailing_app


@pytest.fixture
def firm(app):
    """Client A's first matter: minimum $2,000.00, target $5,000.00, asks automatically; it holds $2,500.00."""
    with app.app_context():
        setup = gen_firm()
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        db.session.execute(
            update(Matter)
            .where(Matter.id == setup.matter_a1)
            .values(evergreen_minimum_cents=200_000, evergreen_target_cents=500_000, evergreen_auto_request=True)
        )
        db.session.commit()
        deposit(setup, 250_000)
        return setup


def replenishments(matter_id):
    return db.session.scalars(
        select(TrustRequest)
        .where(TrustRequest.matter_id == matter_id, TrustRequest.replenishes)
        .order_by(TrustRequest.id)
    ).all()


def test_below_the_minimum_the_client_is_asked_once_for_the_top_up_by_email(app, firm, mailbox):
    with app.app_context():
        assert replenish_all() == ([], [])
        spend(firm, 61_287)  # $1,887.13 held
        done, refused = replenish_all()
        assert refused == [] and len(done) == 1 and "$3,112.87" in done[0]
        [asked] = replenishments(firm.matter_a1)
        assert asked.status == "sent" and asked.amount_cents == 311_287 and asked.allow_partial
        assert replenish_all() == ([], [])  # nothing new while it is open and the balance stands
        assert len(replenishments(firm.matter_a1)) == 1
    [email] = mailbox.to("ada@example.com")
    assert "$3,112.87" in mailbox.text(email) and "/pay/" in mailbox.text(email)


def test_the_open_request_follows_the_balance_and_is_withdrawn_when_the_money_is_back(app, firm, mailbox):
    with app.app_context():
        spend(firm, 61_287)
        replenish_all()
        spend(firm, 50_000)  # $1,387.13 now
        done, _ = replenish_all()
        [asked] = replenishments(firm.matter_a1)
        assert asked.amount_cents == 361_287 and "$3,612.87" in done[0]
        deposit(firm, 100_000)  # $2,387.13: back above the minimum, by a cheque paid another way
        done, _ = replenish_all()
        db.session.refresh(asked)
        assert asked.status == "void" and "withdrawn" in done[0]
        assert asked.void_reason.startswith("The trust balance is back")


def test_a_request_the_client_has_started_paying_is_left_as_it_is(app, firm, mailbox):
    with app.app_context():
        spend(firm, 61_287)
        replenish_all()
        [asked] = replenishments(firm.matter_a1)
        record_manual_payment(
            asked,
            amount_cents=50_000,
            method="cheque",
            received_on=firm_today(),
            reference="Cheque 77",
            payer="Ada Archer",
            idempotency_key="cheque-77-000000000000",
            user=asked.created_by,
        )
        assert replenish_all() == ([], [])
        db.session.refresh(asked)
        assert asked.status == "partially_paid" and asked.amount_cents == 311_287


def test_the_database_keeps_one_replenishment_request_open_per_matter(app, firm, mailbox):
    with app.app_context():
        spend(firm, 61_287)
        replenish_all()
        [asked] = replenishments(firm.matter_a1)
        twin = TrustRequest(
            number="TR-999999",
            contact_id=asked.contact_id,
            matter_id=asked.matter_id,
            bank_account_id=asked.bank_account_id,
            amount_cents=1_000,
            paid_cents=0,
            issued_on=asked.issued_on,
            recipients=asked.recipients,
            status="sent",
            created_by_id=asked.created_by_id,
            replenishes=True,
        )
        db.session.add(twin)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_client_without_an_email_is_reported_not_asked(app, firm, mailbox):
    with app.app_context():
        db.session.get(Contact, firm.client_a).email = None
        db.session.commit()
        spend(firm, 61_287)
        done, refused = replenish_all()
        assert done == [] and "has no email address" in refused[0]
        assert replenishments(firm.matter_a1) == []


def test_the_worker_runs_it_as_a_job_and_the_matter_form_sets_it(app, firm, mailbox):
    assert "evergreen" in jobs.JOBS
    lawyer = signed_in(app, firm.lawyer)
    with app.app_context():
        matter = db.session.get(Matter, firm.matter_a2)
        form = {
            "client_id": str(matter.client_id),
            "lawyer_id": str(matter.lawyer_id),
            "description": matter.description,
            "opened_on": matter.opened_on.isoformat(),
            "evergreen_auto_request": "y",
        }
    refused = post(lawyer, f"/matters/{firm.matter_a2}/edit", form)
    assert refused.status_code == 422 and "Set the evergreen minimum" in refused.get_data(as_text=True)
    saved = post(lawyer, f"/matters/{firm.matter_a2}/edit", {**form, "evergreen_minimum": "1,000.00"})
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.get(Matter, firm.matter_a2).evergreen_auto_request


def test_a_replenishment_request_left_a_draft_by_a_failed_send_is_sent_on_the_next_pass(app, firm, mailbox):
    with app.app_context():
        spend(firm, 61_287)
        replenish_all()
        [asked] = replenishments(firm.matter_a1)
        db.session.execute(update(TrustRequest).where(TrustRequest.id == asked.id).values(status="draft"))
        db.session.commit()
        done, _ = replenish_all()
        db.session.refresh(asked)
        assert asked.status == "sent" and "sent" in done[0]


def test_the_matter_page_shows_the_request_asked_for_automatically(app, firm, mailbox):
    lawyer = signed_in(app, firm.lawyer)
    with app.app_context():
        spend(firm, 61_287)
    page = lawyer.get(f"/matters/{firm.matter_a1}").get_data(as_text=True)
    assert "the client is asked automatically" in page and "the worker sends the request within minutes" in page
    with app.app_context():
        replenish_all()
        [asked] = replenishments(firm.matter_a1)
        number = asked.number
    page = lawyer.get(f"/matters/{firm.matter_a1}").get_data(as_text=True)
    assert f">{number}</a> for $3,112.87 is sent." in page and "Request a top-up of" not in page
