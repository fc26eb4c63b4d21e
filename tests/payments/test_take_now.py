"""Staff take a card on the spot (the test processor): the client at the desk or on the phone pays a request or an
invoice now, through the pay link's own path, and the payment says who took it."""

import json
import re

import pytest
from sqlalchemy import select

from tests.conftest import ON_POSTGRES, csrf_token, post, posted_at_once, signed_in
from tests.factories import gen_user
from tests.invoices.steps import invoice_for
from tests.payments.steps import card, payment_id, take, take_form
from tests.requests.steps import (
    DECLINED_CARD,
    deposits,
    gen_request,
    gen_sent_request,
    held_for,
    outbox,
    pay,
    payments,
    text,
)
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import AuditEvent, FirmSettings, Invoice, Payment, TrustRequest, User
from trustweb.models.firm import DEFAULTS
from trustweb.services.books import check_books


def test_a_lawyer_takes_the_card_at_the_desk_and_the_client_gets_the_receipt(app, firm, mailbox, lawyer):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, amount_cents=250_000)
        name = db.session.get(User, firm.lawyer).name
    url = f"/bills/requests/{request_id}/take"
    assert f'href="{url}"' in text(lawyer.get(f"/bills/requests/{request_id}"))
    html, _, _ = take_form(lawyer, url)
    assert 'value="2500.00"' in html and 'value="Ada Archer"' in html and "TEST MODE" in html

    response, _ = take(lawyer, url, "2,500.00")
    paid = payment_id(response)
    page = lawyer.get(f"/bills/payments/{paid}")
    shown = text(page)
    assert page.status_code == 200 and "Receipt R-000001" in shown and "$2,500.00" in shown
    assert f"{name}, on the spot" in shown and "ending 4242" in shown
    with app.app_context():
        payment = db.session.get(Payment, paid)
        assert (payment.status, payment.created_by_id, payment.method) == ("succeeded", firm.lawyer, "card")
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert held_for(firm) == (250_000, 250_000)  # the full amount in trust; the fee is operating's
        assert check_books() == []
        received = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.received"))
        assert received.user_id == firm.lawyer and json.loads(received.after)["created_by_id"] == firm.lawyer
        assert [m.kind for m in outbox(request_id)] == ["request", "receipt", "lawyer_notice"]
    [receipt] = [m for m in mailbox.to("ada@example.com") if "Receipt R-000001" in m["Subject"]]
    assert "$2,500.00" in receipt["Subject"]


def test_a_declined_card_says_why_and_books_nothing(app, firm, mailbox, lawyer):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox)
    url = f"/bills/requests/{request_id}/take"
    response, posted = take(lawyer, url, "5,000.00", DECLINED_CARD)
    assert response.status_code == 402 and "declined" in text(response).lower()
    assert posted["checkout"] not in text(response)  # a new key for the next try
    assert 'name="number" type="text" value=""' in text(response)  # the card number is not shown back
    with app.app_context():
        [failed] = payments()
        assert (failed.status, failed.created_by_id) == ("failed", firm.lawyer)
        assert deposits() == 0 and db.session.get(TrustRequest, request_id).paid_cents == 0
    again = lawyer.post(url, data=posted)  # the declined form posted again: the same answer, nothing new
    assert again.status_code == 402
    with app.app_context():
        assert len(payments()) == 1


def test_a_double_submit_with_one_key_books_once(app, firm, mailbox, lawyer):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, allow_partial=True)
    url = f"/bills/requests/{request_id}/take"
    first, posted = take(lawyer, url, "1,000.00")
    second = lawyer.post(url, data=posted)
    assert payment_id(first) == payment_id(second)
    with app.app_context():
        assert len(payments()) == 1 and deposits() == 1
        assert held_for(firm) == (100_000, 100_000)


def test_staff_may_take_part_of_what_is_due_but_never_more(app, firm, mailbox, lawyer):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, amount_cents=100_000)  # partial payments not offered
    url = f"/bills/requests/{request_id}/take"
    too_much, _ = take(lawyer, url, "1,000.01")
    assert too_much.status_code == 422 and "$1,000.00 is due on TR-000001; take at most that." in text(too_much)
    with app.app_context():
        assert payments() == []
    assert payment_id(take(lawyer, url, "400.00")[0])
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("partially_paid", 40_000)


def test_a_paid_or_void_request_takes_no_payment(app, firm, mailbox, lawyer):
    payer = app.test_client()
    with app.app_context():
        paid_id, paid_path = gen_sent_request(firm, mailbox, amount_cents=10_000)
        void_id, _ = gen_sent_request(firm, mailbox)
    assert pay(payer, paid_path, "100.00")[0].status_code == 303
    assert post(lawyer, f"/bills/requests/{void_id}/void", {"reason": "Sent in error"}).status_code == 303
    for request_id, said in ((paid_id, "already paid in full"), (void_id, "is void")):
        url = f"/bills/requests/{request_id}/take"
        assert f'href="{url}"' not in text(lawyer.get(f"/bills/requests/{request_id}"))
        assert "takes no payment now" in text(lawyer.get(url))
        response = post(lawyer, url, {"checkout": "k" * 24, **card("100.00")})
        assert response.status_code == 422 and said in text(response)
    with app.app_context():
        assert len(payments()) == 1


def test_a_bookkeeper_may_not_take_a_card_and_a_client_never(app, firm, mailbox):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
        bookkeeper = gen_user("bookkeeper").id
        staff = gen_user("staff").id
    url = f"/bills/requests/{request_id}/take"
    books = signed_in(app, bookkeeper)
    assert books.get(url).status_code == 403
    assert post(books, url, {"checkout": "k" * 24, **card("5,000.00")}).status_code == 403
    assert f'href="{url}"' not in text(books.get(f"/bills/requests/{request_id}"))
    # The client, with the pay link open in the same browser, is sent to the staff sign-in.
    client = app.test_client()
    assert client.get(path).status_code == 200
    refused = post(client, url, {"checkout": "k" * 24, **card("5,000.00")})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/auth/login")
    with app.app_context():
        assert payments() == []
    # Staff at the front desk may.
    assert payment_id(take(signed_in(app, staff), url, "5,000.00")[0])


def test_an_invoice_is_paid_at_the_desk_into_operating(app, firm, lawyer):
    with app.app_context():
        invoice_id = invoice_for(firm, 250, 40_000)
    url = f"/bills/invoices/{invoice_id}/take"
    assert f'href="{url}"' in text(lawyer.get(f"/bills/invoices/{invoice_id}"))
    paid = payment_id(take(lawyer, url, "1,000.00")[0])
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"
        assert db.session.get(Payment, paid).created_by_id == firm.lawyer
        assert held_for(firm) == (0, 0)  # nothing into trust
        assert check_books() == []


def test_from_a_matter_with_nothing_open_a_trust_deposit_is_taken(app, firm, mailbox, lawyer):
    matter_page = text(lawyer.get(f"/matters/{firm.matter_a1}"))
    assert f'href="/bills/take?matter_id={firm.matter_a1}"' in matter_page
    chooser = text(lawyer.get(f"/bills/take?matter_id={firm.matter_a1}"))
    assert "Nothing is open for Ada Archer on this matter" in chooser and "A trust deposit" in chooser
    key = hidden(chooser, "key")
    refused = post(lawyer, f"/bills/take/matters/{firm.matter_a1}", {"key": key, "amount": "0"})
    assert refused.status_code == 422
    made = post(lawyer, f"/bills/take/matters/{firm.matter_a1}", {"key": key, "amount": "750.00"})
    assert made.status_code == 303 and made.headers["Location"].endswith("/take")
    url = made.headers["Location"]
    assert 'value="750.00"' in take_form(lawyer, url)[0]
    assert payment_id(take(lawyer, url, "750.00")[0])
    with app.app_context():
        [trust_request] = db.session.scalars(select(TrustRequest)).all()
        assert (trust_request.status, trust_request.matter_id) == ("paid", firm.matter_a1)
        assert held_for(firm) == (75_000, 75_000)
        assert [m.kind for m in outbox(trust_request.id)] == ["receipt", "lawyer_notice"]  # no request emailed


def test_from_a_contact_the_open_requests_and_invoices_are_offered(app, firm, mailbox, lawyer):
    with app.app_context():
        request_id = gen_request(firm, amount_cents=30_000)
        invoice_id = invoice_for(firm, 100, 20_000)
        number = db.session.get(Invoice, invoice_id).number
        gen_request(firm, contact_id=firm.client_b, matter_id=firm.matter_b1)
    assert f'href="/bills/take?contact_id={firm.client_a}"' in text(lawyer.get(f"/contacts/{firm.client_a}"))
    chooser = text(lawyer.get(f"/bills/take?contact_id={firm.client_a}"))
    assert f"/bills/requests/{request_id}/take" in chooser and f"/bills/invoices/{invoice_id}/take" in chooser
    assert f"Take payment for {number}" in chooser and "TR-000002" not in chooser  # not Ben Baker's
    assert lawyer.get("/bills/take").status_code == 404


# The statements of a card taken at the desk, from the POST to the redirect to the payment's page: the pay link's
# payment (tests/requests/test_payment_sql.py) less its link and the lawyer read for the notice (the signed-in user
# here), plus the staff session.
DESK_STATEMENTS = 28 if ON_POSTGRES else 37


def test_a_card_taken_at_the_desk_runs_a_fixed_number_of_statements(app, firm, mailbox, lawyer):
    with app.app_context():
        first, _ = gen_sent_request(firm, mailbox)
        second, _ = gen_sent_request(firm, mailbox)
    assert payment_id(take(lawyer, f"/bills/requests/{first}/take", "5,000.00")[0])
    url = f"/bills/requests/{second}/take"
    _, csrf, key = take_form(lawyer, url)
    data = {"csrf_token": csrf, "checkout": key, **card("5,000.00", email="ada.receipts@example.com")}
    with statements(app) as seen:
        response = lawyer.post(url, data=data)
    assert payment_id(response)
    listing = "\n".join(f"{s[:90]} ... {s[s.index('  @ ') :]}" for s in seen)
    assert len(seen) == DESK_STATEMENTS, listing
    head = [s for s in seen if s.startswith("SELECT audit_chain_head")]
    assert len(head) == 1 and (not ON_POSTGRES or "SKIP LOCKED" in head[0]), listing


def chooser_statements(app, lawyer, contact_id):
    with statements(app) as seen:
        page = lawyer.get(f"/bills/take?contact_id={contact_id}")
    assert page.status_code == 200
    return [s for s in seen if not s.startswith("BEGIN")]


def test_the_chooser_runs_the_same_statements_for_one_invoice_or_six(app, firm, lawyer):
    """What is open for a client, each with its matter and what is promised to it from trust, read with the rows."""
    with app.app_context():
        invoice_for(firm, 100, 20_000)
        gen_request(firm, amount_cents=30_000)
    one = chooser_statements(app, lawyer, firm.client_a)
    with app.app_context():
        for n in range(5):
            invoice_for(firm, 100, 20_000, matter=(firm.matter_a1, firm.matter_a2)[n % 2])
            gen_request(firm, amount_cents=30_000, matter_id=(firm.matter_a1, firm.matter_a2)[n % 2])
    six = chooser_statements(app, lawyer, firm.client_a)
    page = text(lawyer.get(f"/bills/take?contact_id={firm.client_a}"))
    assert page.count("Take payment for INV-") == 6 and page.count("Take payment for TR-") == 6
    assert len(six) == len(one), "\n".join(six)


def test_a_staff_draft_waiting_for_approval_takes_no_payment_until_a_lawyer_approves(app, firm, lawyer):
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
        db.session.commit()
        paralegal = gen_user("staff", name="Pat Paralegal").id
        request_id = gen_request(firm, amount_cents=40_000, by=paralegal)
    office = signed_in(app, paralegal)
    url = f"/bills/requests/{request_id}/take"
    assert f'href="{url}"' not in text(office.get(f"/bills/requests/{request_id}"))
    page = text(office.get(url))
    assert "TR-000001 is waiting for a lawyer's approval; a payment is taken once it is approved." in page
    assert 'name="number"' not in page
    for who in (office, lawyer):  # neither the paralegal nor a lawyer takes money on it before it is approved
        refused = post(who, url, {"checkout": "k" * 24, **card("400.00")})
        assert refused.status_code == 422 and "waiting for a lawyer&#39;s approval" in text(refused)
    # A desk deposit by the paralegal would be a request made and paid with no one approving it: refused.
    made = post(office, f"/bills/take/matters/{firm.matter_a2}", {"key": "k" * 24, "amount": "750.00"})
    assert made.status_code == 422 and "ask a lawyer or an administrator to take this deposit" in text(made)
    with app.app_context():
        assert payments() == [] and len(db.session.scalars(select(TrustRequest)).all()) == 1
    # The lawyer approves; now it takes a payment.
    assert post(lawyer, f"/bills/requests/{request_id}/approve").status_code == 303
    assert payment_id(take(office, url, "400.00")[0])
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "paid"


def hidden(html, name):
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def test_continue_pressed_twice_makes_one_deposit_request(app, firm, mailbox, lawyer):
    chooser = text(lawyer.get(f"/bills/take?matter_id={firm.matter_a1}"))
    form = {"key": hidden(chooser, "key"), "amount": "750.00"}
    first = post(lawyer, f"/bills/take/matters/{firm.matter_a1}", form)
    second = post(lawyer, f"/bills/take/matters/{firm.matter_a1}", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    # The chooser opened again offers that request, not a second deposit.
    chooser = text(lawyer.get(f"/bills/take?matter_id={firm.matter_a1}"))
    assert "Take payment for TR-000001" in chooser and 'name="key"' not in chooser
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
        assert (made.amount_cents, made.status, made.matter_id) == (75_000, "draft", firm.matter_a1)
        created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.created"))
        assert json.loads(created.after)["desk_key"] == form["key"]
    # The same key on another matter is not that matter's request.
    other = post(lawyer, f"/bills/take/matters/{firm.matter_a2}", form)
    assert other.status_code == 303 and other.headers["Location"] != first.headers["Location"]


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_continue_posted_from_four_tabs_at_once_makes_one_deposit_request(app, firm, mailbox):
    browsers = [signed_in(app, firm.lawyer) for _ in range(4)]
    key = hidden(text(browsers[0].get(f"/bills/take?matter_id={firm.matter_a1}")), "key")
    posts = [(browser, {"csrf_token": csrf_token(browser), "key": key, "amount": "750.00"}) for browser in browsers]
    responses = posted_at_once(f"/bills/take/matters/{firm.matter_a1}", posts)
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
    assert [(r.status_code, r.headers["Location"]) for r in responses] == [(303, f"/bills/requests/{made.id}/take")] * 4
