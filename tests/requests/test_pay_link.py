"""The client's pay link: what a client sees and what happens to the books when something goes wrong.

A declined card, a mistyped amount or card, a link that expired, was ended or
was never ours: the client is told plainly, and no money is booked.
"""

import secrets

import pytest
from sqlalchemy import event, select
from sqlalchemy import text as sql

from tests.conftest import post
from tests.dates import card_expiry
from tests.requests.steps import (
    CHECKOUT,
    CSRF,
    DECLINED_CARD,
    GOOD_CARD,
    card_details,
    count,
    deposits,
    expire_links,
    gen_firm,
    gen_request,
    gen_sent_request,
    held_for,
    pay,
    pay_form,
    pay_path,
    payments,
    send,
    text,
)
from trustweb.extensions import db
from trustweb.models import AuditEvent, TrustRequest, User
from trustweb.services import requests as request_service


@pytest.fixture
def firm(app):
    with app.app_context():
        return gen_firm()


@pytest.fixture
def payer(app):
    """The client, on their phone: signed out, a browser of their own."""
    return app.test_client()


@pytest.fixture
def lawyer(app, firm, client, auth):
    """The lawyer, signed in on the office client."""
    with app.app_context():
        user = db.session.get(User, firm.lawyer)
        db.session.expunge(user)
    auth.login_as(user)
    return user


def assert_nothing_paid(request_id, setup):
    """Still all due: no payment taken, nothing in the journal, nothing held for the client."""
    trust_request = db.session.get(TrustRequest, request_id)
    assert trust_request.paid_cents == 0 and trust_request.status in ("sent", "viewed")
    assert payments("succeeded") == []
    assert deposits() == 0
    assert held_for(setup) == (0, 0)


def test_a_declined_card_is_told_so_and_the_next_card_goes_through(app, firm, mailbox, payer):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)

    response, _ = pay(payer, path, "5,000.00", card=DECLINED_CARD)
    assert response.status_code == 402
    html = text(response)
    assert "Your card was declined. Please use a different card or contact your bank." in html
    # The form comes back for another card: a new checkout, the card number not echoed back.
    assert f'value="{DECLINED_CARD}"' not in html
    with app.app_context():
        [failed] = payments()
        assert (failed.status, failed.amount_cents, failed.card_last4) == ("failed", 500_000, "0002")
        assert failed.receipt_number is None and failed.journal_entry_id is None
        assert_nothing_paid(request_id, firm)
        assert count(AuditEvent, AuditEvent.action == "payment.failed") == 1
    assert mailbox.to("ada.receipts@example.com") == []

    # The client types another card into the form the decline page gave back.
    data = {
        "csrf_token": CSRF.search(html).group(1),
        "checkout": CHECKOUT.search(html).group(1),
        **card_details("5,000.00", GOOD_CARD),
    }
    assert data["checkout"] != failed.idempotency_key
    response = payer.post(path, data=data)
    assert response.status_code == 303, text(response)
    assert "Paid in full" in text(payer.get(path))
    with app.app_context():
        assert [p.status for p in payments()] == ["failed", "succeeded"]
        assert deposits() == 1
        assert held_for(firm) == (500_000, 500_000)
        assert db.session.get(TrustRequest, request_id).status == "paid"


def test_pressing_pay_again_on_the_declined_form_does_not_charge_the_declined_checkout(app, firm, mailbox, payer):
    """The checkout that was declined stays declined: only a fresh checkout can take a payment."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    _, data = pay(payer, path, "5,000.00", card=DECLINED_CARD)
    response = payer.post(path, data={**data, "number": GOOD_CARD})
    assert response.status_code == 402
    with app.app_context():
        assert [p.status for p in payments()] == ["failed"]
        assert_nothing_paid(request_id, firm)


CLOSED_LINKS = {
    "expired": (410, "This payment link has expired"),
    "revoked": (410, "This payment link is no longer active"),
    "void": (410, "This request has been cancelled"),
}


@pytest.mark.parametrize("what", sorted(CLOSED_LINKS))
def test_a_link_that_ended_while_the_page_was_open_takes_no_payment(app, firm, mailbox, client, lawyer, payer, what):
    """The client opened the page, left it, and pressed Pay after the link ended."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    _, csrf, checkout = pay_form(payer, path)

    if what == "expired":
        with app.app_context():
            expire_links(request_id)
    elif what == "revoked":
        response = post(client, f"/bills/requests/{request_id}/revoke")  # "End all pay links"
        assert response.status_code == 303
    else:
        response = post(client, f"/bills/requests/{request_id}/void", {"reason": "Client instructed another firm."})
        assert response.status_code == 303

    status, title = CLOSED_LINKS[what]
    page = payer.get(path)
    assert (page.status_code, title in text(page)) == (status, True)
    assert "Pay by card" not in text(page) and 'name="number"' not in text(page)
    response = payer.post(path, data={"csrf_token": csrf, "checkout": checkout, **card_details("5,000.00")})
    assert (response.status_code, title in text(response)) == (status, True)
    with app.app_context():
        assert payments() == []
        assert deposits() == 0
        assert held_for(firm) == (0, 0)


def test_a_link_sent_again_works_after_the_old_ones_were_ended(app, firm, mailbox, client, lawyer, payer):
    with app.app_context():
        request_id, old_path = gen_sent_request(firm, mailbox)
    assert post(client, f"/bills/requests/{request_id}/revoke").status_code == 303
    assert post(client, f"/bills/requests/{request_id}/send").status_code == 303
    new_path = pay_path(mailbox)
    assert new_path != old_path
    assert payer.get(old_path).status_code == 410
    response, _ = pay(payer, new_path, "5,000.00")
    assert response.status_code == 303


def test_a_paid_link_says_paid_in_full_and_takes_nothing_more(app, firm, mailbox, payer):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, amount_cents=120_000)
    response, _ = pay(payer, path, "1,200.00")
    assert response.status_code == 303

    page = payer.get(path)
    assert page.status_code == 200
    assert "Paid in full" in text(page) and "$1,200.00" in text(page)
    assert 'name="number"' not in text(page)
    with app.app_context():
        assert (len(payments("succeeded")), deposits(), held_for(firm)) == (1, 1, (120_000, 120_000))


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 32, "A" * 200])
def test_an_unknown_link_is_not_found(app, firm, mailbox, payer, token):
    with app.app_context():
        gen_sent_request(firm, mailbox)
    response = payer.get(f"/pay/{token}")
    assert response.status_code == 404
    assert "This payment link is not valid" in text(response)
    assert "TR-000001" not in text(response) and "Ada Archer" not in text(response)


def test_a_guessed_token_finds_nothing_and_pays_nothing(app, firm, mailbox, payer):
    """A random token of the real links' length and alphabet opens nothing, and a post to it books nothing."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    _, csrf, checkout = pay_form(payer, path)
    guess = f"/pay/{secrets.token_urlsafe(24)}"
    assert len(guess) == len(path) == len("/pay/") + 32
    assert payer.get(guess).status_code == 404
    response = payer.post(guess, data={"csrf_token": csrf, "checkout": checkout, **card_details("5,000.00")})
    assert response.status_code == 404
    assert "Ada Archer" not in text(response)
    with app.app_context():
        assert payments() == [] and deposits() == 0


def test_the_first_opening_is_recorded_once(app, firm, mailbox, payer):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
        assert db.session.get(TrustRequest, request_id).viewed_at is None

    pay_form(payer, path)
    with app.app_context():
        first = db.session.get(TrustRequest, request_id)
        assert first.status == "viewed" and first.viewed_at is not None
        first_viewed = first.viewed_at
    pay_form(payer, path)
    app.test_client().get(path)  # the same link opened again, on another device
    with app.app_context():
        again = db.session.get(TrustRequest, request_id)
        assert (again.status, again.viewed_at) == ("viewed", first_viewed)
        assert count(AuditEvent, AuditEvent.action == "request.viewed") == 1


def test_two_tabs_opening_the_link_at_once_record_one_first_view(app, firm, mailbox, payer):
    """The second tab read the request before the first tab's view was saved; it still records nothing."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
        second_tab = db.session.get(TrustRequest, request_id)
        assert second_tab.viewed_at is None
        pay_form(payer, path)  # the first tab, in its own request
        assert not request_service.mark_viewed(second_tab.id)
        assert count(AuditEvent, AuditEvent.action == "request.viewed") == 1
        assert second_tab.status == "viewed"


def test_the_first_view_is_recorded_when_another_writer_commits_while_the_page_is_read(app, firm, mailbox, payer):
    """The page reads without the write lock, so another writer may commit meanwhile; the view is still recorded
    (SQLite refuses at once to turn a read transaction into a write after that: the write has its own)."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
        engine = db.engine
    others = []

    def another_writer(conn, cursor, statement, parameters, context, executemany):
        if "FROM pay_link" in statement and not others:
            others.append(statement)
            with engine.begin() as other:  # a lawyer saving a note, committed between the page's read and write
                other.execute(sql("UPDATE contact SET notes = 'Called' WHERE id = :id"), {"id": firm.client_b})

    event.listen(engine, "after_cursor_execute", another_writer)
    try:
        html, _, _ = pay_form(payer, path)
    finally:
        event.remove(engine, "after_cursor_execute", another_writer)
    assert others and "Pay" in html
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "viewed"
        assert count(AuditEvent, AuditEvent.action == "request.viewed") == 1


BAD_AMOUNTS = [
    # (typed amount, partial payments allowed, what the client is told)
    ("5,000.01", True, "The amount due is $5,000.00; you cannot pay more than that."),
    ("10,000.00", False, "The amount due is $5,000.00; you cannot pay more than that."),
    ("0", True, "Enter an amount greater than zero."),
    ("0.00", True, "Enter an amount greater than zero."),
    ("-100.00", True, "The amount cannot be negative."),
    ("abc", True, "Enter an amount like 1,234.50."),
    ("1.234", True, "Enter an amount like 1,234.50."),
    ("1e5", True, "Enter an amount like 1,234.50."),
    ("", True, "Enter the amount to pay."),
    ("499.99", True, "The smallest payment accepted is $500.00."),
    ("2,500.00", False, "This request is for the full amount due, $5,000.00."),
]


@pytest.mark.parametrize(("amount", "partial", "message"), BAD_AMOUNTS)
def test_an_amount_that_cannot_be_paid_is_refused_and_nothing_is_charged(
    app, firm, mailbox, payer, amount, partial, message
):
    with app.app_context():
        request_id, path = gen_sent_request(
            firm, mailbox, allow_partial=partial, minimum_cents=50_000 if partial else None
        )
    response, data = pay(payer, path, amount)
    assert response.status_code == 422
    html = text(response)
    assert message in html
    # The page is there to try again with a new checkout.
    assert CHECKOUT.search(html).group(1) != data["checkout"]
    assert "$5,000.00" in html
    with app.app_context():
        assert payments() == []
        assert_nothing_paid(request_id, firm)
    assert mailbox.to("ada.receipts@example.com") == []


def test_a_partial_payment_at_the_minimum_is_taken(app, firm, mailbox, payer):
    """The boundary of the refusals above: exactly the minimum is accepted."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True, minimum_cents=50_000)
    response, _ = pay(payer, path, "500")
    assert response.status_code == 303
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.due_cents) == ("partially_paid", 450_000)
        assert held_for(firm) == (50_000, 50_000)


def test_the_last_part_may_be_less_than_the_minimum(app, firm, mailbox, payer):
    """With $200 left on a request whose smallest payment is $500, the client pays the $200."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True, minimum_cents=50_000)
    assert pay(payer, path, "4,800.00")[0].status_code == 303
    assert pay(payer, path, "100.00")[0].status_code == 422
    assert pay(payer, path, "200.00")[0].status_code == 303
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert held_for(firm) == (500_000, 500_000)


BAD_CARDS = [
    ({"number": "4242 4242 4242 4241"}, "That card number is not valid; check it for a typo."),
    ({"number": "4242"}, "Enter the card number as it appears on the card (12 to 19 digits)."),
    ({"number": "4242 4242 4242 424²"}, "Enter the card number as it appears on the card (12 to 19 digits)."),
    ({"number": ""}, "Enter the card number."),
    ({"expiry": "01/20"}, "This card has expired."),
    ({"expiry": "13/30"}, "The expiry month must be 01 to 12."),
    ({"expiry": "tomorrow"}, "Enter the expiry date as MM/YY."),
    ({"cvc": "12"}, "Enter the 3 or 4 digit security code (CVC)."),
    ({"cvc": "abc"}, "Enter the 3 or 4 digit security code (CVC)."),
    ({"cvc": "١٢"}, "Enter the 3 or 4 digit security code (CVC)."),  # two digits, in any script
    ({"name": ""}, "Enter the name on the card."),
]


def test_a_client_pays_from_a_phone_that_types_arabic_indic_digits(app, firm, mailbox, payer):
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
        expiry = card_expiry()
    typed = {"expiry": expiry.translate(arabic), "cvc": "١٢٣"}
    response, _ = pay(payer, path, "5,000.00", card=GOOD_CARD.translate(arabic), **typed)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "paid"


@pytest.mark.parametrize(("typed", "message"), BAD_CARDS)
def test_a_mistyped_card_is_refused_before_it_reaches_the_processor(app, firm, mailbox, payer, typed, message):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    response, _ = pay(payer, path, "5,000.00", **typed)
    assert response.status_code == 422
    assert message in text(response)
    with app.app_context():
        assert payments() == []  # not even a failed attempt: the processor was never asked
        assert_nothing_paid(request_id, firm)


def test_the_pay_pages_are_private_and_script_free(app, firm, mailbox, payer):
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox, allow_partial=True)
    show = payer.get(path)
    response, _ = pay(payer, path, "1,000.00")
    receipt = payer.get(response.headers["Location"])
    closed = payer.get(f"/pay/{secrets.token_urlsafe(24)}")
    for page in (show, receipt, closed):
        assert page.headers["X-Robots-Tag"].startswith("noindex")
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in page.headers["Cache-Control"]
        assert "<script" not in text(page).lower()
        assert '<meta name="robots" content="noindex' in text(page)
    assert (show.status_code, receipt.status_code, closed.status_code) == (200, 200, 404)
    # The test processor says so on every page that takes or shows a card payment.
    assert "TEST MODE" in text(show) and "TEST MODE" in text(receipt)
    assert "R-000001" in text(receipt) and "$1,000.00" in text(receipt)


def test_the_page_shows_this_request_and_nothing_of_other_clients(app, firm, mailbox, payer):
    with app.app_context():
        # Ben Baker has a request of his own, and has paid part of it.
        other_id, other_path = gen_sent_request(
            firm,
            mailbox,
            contact_id=firm.client_b,
            matter_id=firm.matter_b1,
            amount_cents=777_700,
            allow_partial=True,
            recipients=["ben@example.com"],
            message="Retainer for Baker v. Coastal Insurance.",
        )
        # Ada's other matter has one too.
        gen_request(firm, matter_id=firm.matter_a2, amount_cents=333_300, message="For the estate.")
        request_id, path = gen_sent_request(firm, mailbox, amount_cents=123_400)
    other_payment, _ = pay(app.test_client(), other_path, "1,000.00")
    other_receipt = other_payment.headers["Location"].rsplit("/", 1)[1]

    html = text(payer.get(path))
    assert "Ada Archer" in html and "$1,234.00" in html and "TR-000003" in html
    for other in ("Ben Baker", "Baker v. Coastal", "ben@example.com", "$7,777.00", "TR-000001", "TR-000002"):
        assert other not in html
    assert "Estate of H. Archer" not in html and "$3,333.00" not in html
    # Ben's receipt cannot be opened with Ada's link.
    response = payer.get(f"{path}/receipts/{other_receipt}")
    assert response.status_code == 404
    assert "Ben Baker" not in text(response)


def test_a_stream_of_payment_attempts_is_rate_limited(app, firm, mailbox, payer):
    """Someone trying card after card on one link is stopped; the pay page still takes no money."""
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox)
    _, csrf, checkout = pay_form(payer, path)
    statuses = [
        payer.post(
            path, data={"csrf_token": csrf, "checkout": checkout, **card_details("5,000.00", cvc="1")}
        ).status_code
        for _ in range(21)
    ]
    assert statuses == [422] * 20 + [429]
    with app.app_context():
        assert payments() == []


def test_staff_resending_keeps_one_request_and_each_email_has_its_own_link(app, firm, mailbox):
    with app.app_context():
        request_id, first = gen_sent_request(firm, mailbox)
        send(request_id, firm.lawyer)
        second = pay_path(mailbox)
        assert first != second
        assert count(TrustRequest) == 1
        assert len(db.session.scalars(select(TrustRequest)).one().links) == 2
