"""The office side of trust requests: approval, editing, voiding, money received by hand, reminders, the Bills list.

Each test is a day at the firm, through the pages the staff use.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.factories import gen_matter, gen_user
from tests.requests.steps import (
    PAYMENT_KEY,
    count,
    deposits,
    gen_firm,
    gen_request,
    gen_sent_request,
    held_for,
    outbox,
    payments,
    send,
    text,
)
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, FirmSettings, JournalEntry, OutboxMessage, TrustRequest, User
from trustweb.models.firm import DEFAULTS
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.trust import firm_today

ROW = re.compile(r'<tr id="request-(\d+)"')


@pytest.fixture
def firm(app):
    with app.app_context():
        return gen_firm()


@pytest.fixture
def today(app):
    """The firm's date today, in its own time zone."""
    with app.app_context():
        return firm_today()


def new_request_form(setup, today, **changes):
    """The New trust request form as the user fills it in."""
    return {
        "contact_id": setup.client_a,
        "matter_id": setup.matter_a1,
        "account_id": setup.account,
        "amount": "5,000.00",
        "issued_on": today.isoformat(),
        "due_on": "",
        "message": "Retainer for the purchase of 12 Elm St.",
        "template_id": 0,
        "recipients": "ada@example.com",
        "cc": "",
        **changes,
    }


def saved_request(response):
    assert response.status_code == 303, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def flashed(browser, response):
    """The page the browser lands on after a one-click action, with its flash message."""
    assert response.status_code == 303, text(response)
    return text(browser.get(response.headers["Location"]))


def status_of(request_id):
    return db.session.get(TrustRequest, request_id).status


def require_approval():
    db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
    db.session.commit()


# Approval


def test_a_staff_request_waits_for_a_lawyer_when_the_firm_asks_for_approval(app, firm, mailbox, today):
    with app.app_context():
        require_approval()
        paralegal = gen_user("staff", name="Pat Paralegal")
    office = signed_in(app, paralegal.id)
    request_id = saved_request(post(office, "/bills/requests/new", new_request_form(firm, today)))

    page = text(office.get(f"/bills/requests/{request_id}"))
    assert "Waiting for a lawyer's approval" in page and ">Send</button>" not in page
    # The Bills list says so too, without a Send button on that row.
    row = text(office.get("/bills/?status=draft", headers={"HX-Request": "true"}))
    assert "Awaiting approval" in row and ">Send</button>" not in row
    # Pressing Send (or Copy link) anyway is refused.
    page = flashed(office, post(office, f"/bills/requests/{request_id}/send"))
    assert "TR-000001 is waiting for a lawyer&#39;s approval before it can be sent." in page
    page = flashed(office, post(office, f"/bills/requests/{request_id}/link"))
    assert "TR-000001 is waiting for a lawyer&#39;s approval." in page
    # Nor can staff approve it themselves.
    assert post(office, f"/bills/requests/{request_id}/approve").status_code == 403
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.approved_by_id, trust_request.links) == ("draft", None, [])
        assert outbox(request_id) == []
    assert mailbox.messages == []

    # The lawyer approves; now it goes.
    lawyer = signed_in(app, firm.lawyer)
    page = flashed(lawyer, post(lawyer, f"/bills/requests/{request_id}/approve"))
    assert "TR-000001 approved; it can be sent." in page
    page = flashed(office, post(office, f"/bills/requests/{request_id}/send"))
    assert "TR-000001 for ada@example.com is queued; no worker has checked in lately, so it goes when one runs." in page
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.approved_by_id) == ("sent", firm.lawyer)
        assert count(AuditEvent, AuditEvent.action == "request.approved") == 1
    assert len(mailbox.to("ada@example.com")) == 1


def test_a_changed_draft_is_approved_again(app, firm, mailbox, today):
    with app.app_context():
        require_approval()
        paralegal = gen_user("staff")
    office, lawyer = signed_in(app, paralegal.id), signed_in(app, firm.lawyer)
    request_id = saved_request(post(office, "/bills/requests/new", new_request_form(firm, today)))
    post(lawyer, f"/bills/requests/{request_id}/approve")
    # After the approval, staff raise the amount.
    assert saved_request(
        post(office, f"/bills/requests/{request_id}/edit", new_request_form(firm, today, amount="50,000"))
    )
    page = flashed(office, post(office, f"/bills/requests/{request_id}/send"))
    assert "waiting for a lawyer&#39;s approval" in page
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.amount_cents, trust_request.approved_by_id) == (
            "draft",
            5_000_000,
            None,
        )
    assert mailbox.messages == []


def test_a_lawyers_own_request_needs_no_approval(app, firm, mailbox, today):
    with app.app_context():
        require_approval()
    lawyer = signed_in(app, firm.lawyer)
    request_id = saved_request(post(lawyer, "/bills/requests/new", new_request_form(firm, today)))
    assert "approval" not in text(lawyer.get(f"/bills/requests/{request_id}"))
    page = flashed(lawyer, post(lawyer, f"/bills/requests/{request_id}/send"))
    assert "TR-000001 for ada@example.com is queued; no worker has checked in lately, so it goes when one runs." in page
    with app.app_context():
        assert status_of(request_id) == "sent"
    assert len(mailbox.to("ada@example.com")) == 1


# Editing and voiding


def test_only_a_draft_can_be_edited(app, firm, mailbox, today):
    lawyer = signed_in(app, firm.lawyer)
    request_id = saved_request(post(lawyer, "/bills/requests/new", new_request_form(firm, today)))
    # A draft: the amount can change.
    assert saved_request(
        post(lawyer, f"/bills/requests/{request_id}/edit", new_request_form(firm, today, amount="6,000"))
    )
    post(lawyer, f"/bills/requests/{request_id}/send")
    assert ">Edit</a>" not in text(lawyer.get(f"/bills/requests/{request_id}"))

    # Sent: a changed form is refused, and nothing changes.
    response = post(
        lawyer,
        f"/bills/requests/{request_id}/edit",
        new_request_form(firm, today, amount="600.00", recipients="someone.else@example.com", message="Changed"),
    )
    assert response.status_code == 422
    assert "TR-000001 is sent; only drafts can be changed." in text(response)
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.amount_cents, trust_request.recipients, trust_request.message) == (
            600_000,
            "ada@example.com",
            "Retainer for the purchase of 12 Elm St.",
        )
        assert count(AuditEvent, AuditEvent.action == "request.updated") == 1


def test_a_paid_request_cannot_be_edited_or_voided(app, firm, mailbox, today):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, amount_cents=100_000)
    lawyer = signed_in(app, firm.lawyer)
    record = lawyer.get(f"/bills/requests/{request_id}")
    key = PAYMENT_KEY.search(text(record)).group(1)
    payment = {"key": key, "amount": "1,000", "received_on": today.isoformat(), "method": "wire"}
    post(lawyer, f"/bills/requests/{request_id}/payments", {**payment, "payer": "Ada Archer", "cleared": "y"})
    response = post(lawyer, f"/bills/requests/{request_id}/edit", new_request_form(firm, today, amount="2,000"))
    assert response.status_code == 422 and "TR-000001 is paid; only drafts can be changed." in text(response)
    response = post(lawyer, f"/bills/requests/{request_id}/void", {"reason": "Wrong client"})
    assert response.status_code == 422 and "TR-000001 is paid; a paid request cannot be voided." in text(response)
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.amount_cents) == ("paid", 100_000)


@pytest.mark.parametrize("reason", ["", "   "])
def test_voiding_needs_a_reason(app, firm, mailbox, reason):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    lawyer = signed_in(app, firm.lawyer)
    response = post(lawyer, f"/bills/requests/{request_id}/void", {"reason": reason})
    assert response.status_code == 422
    assert "Say why the request is void." in text(response)
    with app.app_context():
        assert status_of(request_id) == "sent"
        assert count(AuditEvent, AuditEvent.action == "request.voided") == 0
    assert app.test_client().get(path).status_code == 200


def test_a_voided_request_keeps_what_was_paid_and_its_link_says_cancelled(app, firm, mailbox, today):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
        lawyer_user = db.session.get(User, firm.lawyer)
        payment_service.record_manual_payment(
            db.session.get(TrustRequest, request_id),
            amount_cents=100_000,
            method="wire",
            received_on=firm_today(),
            reference="W-1",
            payer="Ada Archer",
            cleared=True,
            idempotency_key="manual-wire-0000000000001",
            user=lawyer_user,
        )
    lawyer = signed_in(app, firm.lawyer)
    response = post(lawyer, f"/bills/requests/{request_id}/void", {"reason": "The purchase fell through."})
    page = flashed(lawyer, response)
    assert "TR-000001 is void; its pay links no longer work." in page
    assert "The purchase fell through." in page
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.void_reason, trust_request.paid_cents) == (
            "void",
            "The purchase fell through.",
            100_000,
        )
        assert all(link.revoked_at is not None for link in trust_request.links)
        assert held_for(firm) == (100_000, 100_000)  # the money paid stays in trust
        assert count(AuditEvent, AuditEvent.action == "request.voided") == 1
    closed = app.test_client().get(path)
    assert closed.status_code == 410
    assert "This request has been cancelled" in text(closed) and "Pay by card" not in text(closed)
    # No more money can be recorded against it either.
    response = post(
        lawyer,
        f"/bills/requests/{request_id}/payments",
        {
            "key": "manual-wire-0000000000002",
            "amount": "100",
            "received_on": today.isoformat(),
            "method": "cheque",
            "payer": "Ada Archer",
        },
    )
    assert response.status_code == 422
    assert "TR-000001 is void; record the money as a deposit on the matter instead." in text(response)


# Money received by hand


def record_payment(browser, request_id, amount, method="cheque", cleared=False, **fields):
    """Fill in "Record a payment" on the request page and press the button; (response, the form posted)."""
    page = text(browser.get(f"/bills/requests/{request_id}"))
    data = {
        "key": PAYMENT_KEY.search(page).group(1),
        "amount": amount,
        "received_on": page_date(page),
        "method": method,
        "payer": "Ada Archer",
        "reference": fields.pop("reference", "Cheque 1042"),
        **({"cleared": "y"} if cleared else {}),
        **fields,
    }
    return post(browser, f"/bills/requests/{request_id}/payments", data), data


def page_date(page):
    """The date the form suggests (today at the firm)."""
    return re.search(r'name="received_on"[^>]*value="([^"]+)"', page).group(1)


def test_an_uncleared_cheque_is_held_but_not_available_until_the_bank_clears_it(app, firm, mailbox, today):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, allow_partial=True)
    lawyer = signed_in(app, firm.lawyer)

    # A cheque for part of it arrives in the post.
    response, _ = record_payment(lawyer, request_id, "2,000.00", method="cheque")
    page = flashed(lawyer, response)
    assert "Payment R-000001 of $2,000.00 recorded." in page and "Not cleared" in page
    with app.app_context():
        assert status_of(request_id) == "partially_paid"
        assert held_for(firm) == (200_000, 0)  # on the ledger, not yet available to pay out
        [cheque] = payments()
        entry_id = cheque.journal_entry_id

    # The rest comes by wire, cleared the same day.
    response, _ = record_payment(lawyer, request_id, "3,000.00", method="wire", cleared=True, reference="W-77")
    assert response.status_code == 303
    with app.app_context():
        assert status_of(request_id) == "paid"
        assert held_for(firm) == (500_000, 300_000)

    # The bank clears the cheque.
    response = post(lawyer, f"/trust/entries/{entry_id}/clear", {"cleared_on": today.isoformat()})
    assert response.status_code == 303
    with app.app_context():
        assert held_for(firm) == (500_000, 500_000)
        assert db.session.get(JournalEntry, entry_id).clearance is not None
        assert [(p.method, p.fee_cents) for p in payments()] == [("cheque", 0), ("wire", 0)]
    assert "Not cleared" not in text(lawyer.get(f"/bills/requests/{request_id}"))
    # The client gets a receipt for each.
    assert len(mailbox.to("ada@example.com")) == 3


def test_a_paralegal_records_a_cheque_but_only_those_who_clear_deposits_say_it_cleared(app, firm, mailbox):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, allow_partial=True)
        paralegal = gen_user("staff", name="Pat Paralegal").id
    browser = signed_in(app, paralegal)
    page = text(browser.get(f"/bills/requests/{request_id}"))
    assert "Record a payment received by cheque" in page and 'name="cleared"' not in page

    # Ticked anyway (an old page, a crafted post): refused, and nothing is booked.
    response, _ = record_payment(browser, request_id, "1,000", cleared=True)
    assert response.status_code == 422 and "You cannot mark money as cleared" in text(response)
    with app.app_context():
        assert payments() == [] and deposits() == 0

    response, _ = record_payment(browser, request_id, "1,000")
    assert response.status_code == 303
    with app.app_context():
        [cheque] = payments()
        assert cheque.journal_entry.clearance is None
        assert held_for(firm) == (100_000, 0)


def test_a_payment_by_hand_over_the_amount_due_is_refused(app, firm, mailbox):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, allow_partial=True)
    lawyer = signed_in(app, firm.lawyer)
    assert record_payment(lawyer, request_id, "1,000", cleared=True)[0].status_code == 303
    response, _ = record_payment(lawyer, request_id, "4,000.01", cleared=True)
    assert response.status_code == 422
    assert "$4,000.00 is due on TR-000001; record at most that." in text(response)
    with app.app_context():
        assert [p.amount_cents for p in payments()] == [100_000]
        assert deposits() == 1
        assert held_for(firm) == (100_000, 100_000)
        assert status_of(request_id) == "partially_paid"


def test_a_double_submitted_payment_form_records_once(app, firm, mailbox):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, allow_partial=True)
    lawyer = signed_in(app, firm.lawyer)
    first, data = record_payment(lawyer, request_id, "1,500.00", cleared=True)
    second = post(lawyer, f"/bills/requests/{request_id}/payments", data)
    assert (first.status_code, second.status_code) == (303, 303)
    assert "Payment R-000001 of $1,500.00 recorded." in text(lawyer.get(second.headers["Location"]))
    with app.app_context():
        assert len(payments()) == 1
        assert deposits() == 1
        assert held_for(firm) == (150_000, 150_000)
        assert db.session.get(TrustRequest, request_id).paid_cents == 150_000
    # A new form (a second cheque) is a new payment.
    assert record_payment(lawyer, request_id, "500.00", cleared=True)[0].status_code == 303
    with app.app_context():
        assert [p.amount_cents for p in payments()] == [150_000, 50_000]


# Reminders


def reminders_to(mailbox, address):
    return [m for m in mailbox.to(address) if m["Subject"].startswith("Reminder:")]


def test_the_daily_reminder_run_reminds_what_is_coming_due_and_overdue(app, firm, mailbox, runner):
    """Reminders 3 days before the due date and every 7 days once overdue (the defaults), at most one a day."""
    with app.app_context():
        today = firm_today()
        days = timedelta(days=1)

        def sent(who, due, last_reminder=None, **fields):
            request_id, _ = gen_sent_request(
                firm, mailbox, recipients=[f"{who}@example.com"], due_on=due, issued_on=today - 40 * days, **fields
            )
            db.session.get(TrustRequest, request_id).last_reminder_on = last_reminder
            db.session.commit()
            return request_id

        sent("due-in-two-days", today + 2 * days)
        sent("due-today", today)
        sent("due-in-ten-days", today + 10 * days)
        sent("reminded-yesterday-due-in-two", today + 2 * days, today - days)
        sent("overdue-yesterday", today - days)
        sent("overdue-reminded-3-days-ago", today - 20 * days, today - 3 * days)
        sent("overdue-reminded-8-days-ago", today - 20 * days, today - 8 * days)
        sent("no-due-date", None)
        part_paid = sent("part-paid", today + days, allow_partial=True)
        paid = sent("fully-paid", today + days)
        void = sent("void", today + days)
        gen_request(firm, recipients=["draft@example.com"], due_on=today + days, issued_on=today - 40 * days)
        lawyer = db.session.get(User, firm.lawyer)
        for request_id, amount in ((part_paid, 100_000), (paid, 500_000)):
            payment_service.record_manual_payment(
                db.session.get(TrustRequest, request_id),
                amount_cents=amount,
                method="wire",
                received_on=today,
                reference=None,
                payer="Ada Archer",
                cleared=True,
                idempotency_key=f"wire-for-request-{request_id:08d}",
                user=lawyer,
            )
        request_service.void_request(db.session.get(TrustRequest, void), "Sent in error", lawyer)

    result = runner.invoke(args=["trustweb", "remind"])
    assert result.exit_code == 0, result.output
    assert "Queued 5 reminder(s);" in result.output
    mailbox.deliver()  # the worker's next pass
    reminded = sorted(m["To"].split("@")[0] for m in mailbox.messages if m["Subject"].startswith("Reminder:"))
    assert reminded == ["due-in-two-days", "due-today", "overdue-reminded-8-days-ago", "overdue-yesterday", "part-paid"]
    [reminder] = reminders_to(mailbox, "part-paid@example.com")
    assert "$4,000.00" in reminder["Subject"]  # what is still due, not what was asked
    assert "/pay/" in mailbox.text(reminder)

    # The same day again (cron ran twice): nothing more.
    before = len(mailbox.messages)
    result = runner.invoke(args=["trustweb", "remind"])
    assert "Queued 0 reminder(s);" in result.output
    mailbox.deliver()
    assert len(mailbox.messages) == before

    # The days after (queued only, not sent): the first overdue reminder goes the day after the due date even
    # when a reminder went before it; after that, one a week.
    with app.app_context():
        assert request_service.queue_reminders(today + days) == (1, [])
        assert waiting_reminders() == ["due-today"]
        assert request_service.queue_reminders(today + 4 * days) == (4, [])
        assert waiting_reminders() == [
            "due-in-two-days",
            "due-today",
            "overdue-reminded-3-days-ago",
            "part-paid",
            "reminded-yesterday-due-in-two",
        ]
        assert request_service.queue_reminders(today + 6 * days) == (0, [])


def waiting_reminders():
    """Whose reminders wait in the outbox, by the name before the @."""
    waiting = db.session.scalars(
        select(OutboxMessage.recipients).where(OutboxMessage.kind == "reminder", OutboxMessage.status == "queued")
    ).all()
    return sorted(address.split("@")[0] for address in waiting)


def test_the_send_reminder_button_sends_one_a_day(app, firm, mailbox, today):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox)
    lawyer = signed_in(app, firm.lawyer)
    page = flashed(lawyer, post(lawyer, f"/bills/requests/{request_id}/remind"))
    assert "A reminder of TR-000001 for ada@example.com is queued" in page
    page = flashed(lawyer, post(lawyer, f"/bills/requests/{request_id}/remind"))
    assert "A reminder for TR-000001 already went today." in page
    assert len(reminders_to(mailbox, "ada@example.com")) == 1
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).last_reminder_on == firm_today()
        assert [m.kind for m in outbox(request_id)] == ["request", "reminder"]


def test_no_reminder_for_a_draft_from_the_button(app, firm, mailbox):
    with app.app_context():
        request_id = gen_request(firm)
    lawyer = signed_in(app, firm.lawyer)
    page = flashed(lawyer, post(lawyer, f"/bills/requests/{request_id}/remind"))
    assert "TR-000001 is draft; no reminder is sent." in page
    assert mailbox.messages == []


# The Bills list, and the requests on matter and contact pages


@pytest.fixture
def requests_on_the_books(app, firm, mailbox):
    """Five requests by two lawyers, in every state; their ids by name."""
    with app.app_context():
        today = firm_today()
        days = timedelta(days=1)
        other_lawyer = gen_user("lawyer", name="Omar Okafor")
        ben = db.session.get(Contact, firm.client_b)
        omars_matter = gen_matter(ben, other_lawyer, description="Baker lease dispute")
        lawyer = db.session.get(User, firm.lawyer)
        ids = {}
        ids["overdue"] = gen_request(firm, amount_cents=100_000, issued_on=today - 40 * days, due_on=today - 10 * days)
        send(ids["overdue"], firm.lawyer)
        ids["part_paid"] = gen_request(
            firm,
            contact_id=firm.client_b,
            matter_id=omars_matter.id,
            amount_cents=200_000,
            allow_partial=True,
            issued_on=today - 5 * days,
            due_on=today + 20 * days,
            by=other_lawyer.id,
        )
        send(ids["part_paid"], other_lawyer.id)
        ids["draft"] = gen_request(firm, matter_id=firm.matter_a2, amount_cents=400_000, issued_on=today)
        ids["paid"] = gen_request(firm, amount_cents=800_000, issued_on=today - 20 * days)
        send(ids["paid"], firm.lawyer)
        ids["void"] = gen_request(
            firm, contact_id=firm.client_b, matter_id=omars_matter.id, amount_cents=1_600_000, by=other_lawyer.id
        )
        for name, amount in (("part_paid", 50_000), ("paid", 800_000)):
            payment_service.record_manual_payment(
                db.session.get(TrustRequest, ids[name]),
                amount_cents=amount,
                method="wire",
                received_on=today,
                reference=None,
                payer="Client",
                cleared=True,
                idempotency_key=f"wire-{name}-0000000000000",
                user=lawyer,
            )
        request_service.void_request(db.session.get(TrustRequest, ids["void"]), "Duplicate", lawyer)
        ids["other_lawyer"] = other_lawyer.id
        ids["omars_matter"] = omars_matter.id
        ids["today"] = today
        return ids


def listed(html):
    return {int(i) for i in ROW.findall(html)}


def test_the_bills_list_filters_by_htmx_and_totals_what_is_outstanding(app, firm, requests_on_the_books, today):
    ids = requests_on_the_books
    office = signed_in(app, firm.lawyer)
    htmx = {"HX-Request": "true"}

    def rows(**args):
        response = office.get("/bills/", query_string=args, headers=htmx)
        assert response.status_code == 200
        html = text(response)
        # Only the rows and totals: the page around them is already in the browser.
        assert "<html" not in html and 'id="request-search"' not in html and 'id="requests-table"' in html
        return listed(html), html

    # The full page by direct link, showing open requests (drafts included) by default.
    page = text(office.get("/bills/"))
    assert "<html" in page and 'id="request-search"' in page
    assert listed(page) == {ids["overdue"], ids["part_paid"], ids["draft"]}
    # Outstanding: what was asked and not yet paid on requests that went out ($1,000 + $1,500); overdue $1,000.
    assert 'id="total-outstanding">$2,500.00<' in page
    assert 'id="total-overdue">$1,000.00<' in page

    found, html = rows(status="overdue")
    assert found == {ids["overdue"]}
    assert 'id="total-outstanding">$1,000.00<' in html
    assert rows(status="paid")[0] == {ids["paid"]}
    assert rows(status="void")[0] == {ids["void"]}
    assert rows(status="draft")[0] == {ids["draft"]}
    assert rows(status="partially_paid")[0] == {ids["part_paid"]}
    assert len(rows(status="all")[0]) == 5

    found, html = rows(status="all", lawyer=ids["other_lawyer"])
    assert found == {ids["part_paid"], ids["void"]}
    assert 'id="total-outstanding">$1,500.00<' in html and 'id="total-overdue">$0.00<' in html
    assert rows(status="all", lawyer=firm.lawyer)[0] == {ids["overdue"], ids["draft"], ids["paid"]}

    assert rows(status="all", q="baker")[0] == {ids["part_paid"], ids["void"]}
    assert rows(status="all", q="TR-000003")[0] == {ids["draft"]}
    found, html = rows(status="all", q="nobody-by-that-name")
    assert found == set() and "No trust requests match" in html

    today, days = ids["today"], timedelta(days=1)
    issued = {"from": (today - 21 * days).isoformat(), "to": (today - 1 * days).isoformat()}
    assert rows(status="all", **issued)[0] == {ids["part_paid"], ids["paid"]}
    assert rows(status="all", **{"from": today.isoformat()})[0] == {ids["draft"], ids["void"]}
    # Filters combine: open requests of the other lawyer issued in that range.
    assert rows(status="open", lawyer=ids["other_lawyer"], **issued)[0] == {ids["part_paid"]}


def test_a_matter_page_and_a_contact_page_list_their_requests(app, firm, requests_on_the_books):
    ids = requests_on_the_books
    office = signed_in(app, firm.lawyer)

    def numbers(html):
        return set(re.findall(r">(TR-\d{6})</a>", html))

    matter_page = text(office.get(f"/matters/{firm.matter_a1}"))
    assert numbers(matter_page) == {"TR-000001", "TR-000004"}
    assert f"/bills/requests/new?matter_id={firm.matter_a1}" in matter_page
    assert numbers(text(office.get(f"/matters/{ids['omars_matter']}"))) == {"TR-000002", "TR-000005"}
    # Ada's page has both her matters' requests; Ben's has his.
    assert numbers(text(office.get(f"/contacts/{firm.client_a}"))) == {"TR-000001", "TR-000003", "TR-000004"}
    assert numbers(text(office.get(f"/contacts/{firm.client_b}"))) == {"TR-000002", "TR-000005"}


# Who may do what


@pytest.mark.parametrize(
    ("role", "action", "data"),
    [
        ("bookkeeper", "void", {"reason": "Not needed"}),
        ("staff", "void", {"reason": "Not needed"}),
        ("staff", "approve", {}),
        ("bookkeeper", "approve", {}),
    ],
)
def test_a_role_without_the_right_is_refused(app, firm, mailbox, role, action, data):
    with app.app_context():
        require_approval()
        request_id = gen_request(firm, by=gen_user("staff").id)
        user = gen_user(role)
    browser = signed_in(app, user.id)
    assert post(browser, f"/bills/requests/{request_id}/{action}", data).status_code == 403
    page = text(browser.get(f"/bills/requests/{request_id}"))
    assert "Void this request" not in page and ">Approve</button>" not in page
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.approved_by_id) == ("draft", None)
