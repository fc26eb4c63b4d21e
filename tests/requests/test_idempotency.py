"""A payment is applied exactly once (invariant 7): a double click, a reload, two tabs, many at the same moment.

The pay form carries a checkout key; a second post of the same checkout shows
the first one's receipt and books nothing. Two different checkouts for the
whole amount: the first pays, the second is told the request is paid.
"""

import pytest

from tests.conftest import ON_POSTGRES, posted_at_once
from tests.requests.steps import (
    CHECKOUT,
    CSRF,
    card_details,
    count,
    deposits,
    gen_firm,
    gen_sent_request,
    held_for,
    pay,
    pay_form,
    payments,
    text,
)
from trustweb.extensions import db
from trustweb.models import AuditEvent, LedgerAccount, TrustRequest
from trustweb.services.books import check_books

pg_only = pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")


@pytest.fixture
def firm(app):
    with app.app_context():
        return gen_firm()


def fee_expense():
    return db.session.scalar(db.select(LedgerAccount.balance_cents).where(LedgerAccount.kind == "expense")) or 0


def test_a_double_clicked_pay_button_pays_once(app, firm, mailbox):
    """The same checkout posted twice: one payment, one deposit, one fee, one receipt; both show it."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
    payer = app.test_client()
    first, data = pay(payer, path, "1,000.00")
    second = payer.post(path, data=data)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith("/receipts/R-000001")
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.amount_cents) == ("succeeded", 100_000)
        assert deposits() == 1
        assert fee_expense() == 2_900 + 30
        assert count(AuditEvent, AuditEvent.action == "payment.received") == 1
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("partially_paid", 100_000)
        assert held_for(firm) == (100_000, 100_000)
        assert check_books() == []
    assert len(mailbox.to("ada.receipts@example.com")) == 1


def test_reloading_the_page_after_paying_in_full_shows_the_receipt(app, firm, mailbox):
    """The browser re-posts the finished checkout after the link closed: the receipt again, no error."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    payer = app.test_client()
    first, data = pay(payer, path, "5,000.00")
    assert first.status_code == 303
    reload = payer.post(path, data=data)
    assert reload.status_code == 303
    assert reload.headers["Location"] == first.headers["Location"]
    receipt = payer.get(reload.headers["Location"])
    assert receipt.status_code == 200
    assert "R-000001" in text(receipt) and "$5,000.00" in text(receipt)
    with app.app_context():
        assert len(payments()) == 1 and deposits() == 1
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert held_for(firm) == (500_000, 500_000)


def test_two_tabs_each_paying_the_whole_amount_pay_it_once(app, firm, mailbox):
    """The client opened the link twice and paid in both tabs: the second is told it is already paid."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    payer = app.test_client()
    _, csrf, first_checkout = pay_form(payer, path)
    _, _, second_checkout = pay_form(payer, path)
    assert first_checkout != second_checkout

    first = payer.post(path, data={"csrf_token": csrf, "checkout": first_checkout, **card_details("5,000.00")})
    second = payer.post(path, data={"csrf_token": csrf, "checkout": second_checkout, **card_details("5,000.00")})
    assert first.status_code == 303
    assert 400 <= second.status_code < 500
    assert "Paid in full" in text(second)
    assert 'name="number"' not in text(second)  # no form to try again: there is nothing to pay
    with app.app_context():
        [payment] = payments()
        assert payment.idempotency_key == first_checkout
        assert deposits() == 1
        assert held_for(firm) == (500_000, 500_000)
        assert db.session.get(TrustRequest, request_id).paid_cents == 500_000
        assert check_books() == []
    assert len(mailbox.to("ada.receipts@example.com")) == 1


def test_a_declined_checkout_reloaded_after_another_tab_paid_shows_the_paid_page(app, firm, mailbox):
    """Tab one is declined; tab two pays it all; tab one's declined post is reloaded: paid, not a $0.00 form."""
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox)
    payer = app.test_client()
    declined, data = pay(payer, path, "5,000.00", card="4000 0000 0000 0002")
    assert declined.status_code == 402
    assert pay(payer, path, "5,000.00")[0].status_code == 303
    reload = payer.post(path, data=data)
    assert reload.status_code == 409 and "Paid in full" in text(reload) and 'name="number"' not in text(reload)
    with app.app_context():
        assert [p.status for p in payments()] == ["failed", "succeeded"]
        assert deposits() == 1


def test_two_tabs_paying_parts_are_both_taken_until_the_amount_is_reached(app, firm, mailbox):
    """Partial payments from two tabs add up; the second is refused only for what would be too much."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
    payer = app.test_client()
    _, csrf, tab_one = pay_form(payer, path)
    _, _, tab_two = pay_form(payer, path)
    _, _, tab_three = pay_form(payer, path)
    assert payer.post(path, data={"csrf_token": csrf, "checkout": tab_one, **card_details("3,000")}).status_code == 303
    too_much = payer.post(path, data={"csrf_token": csrf, "checkout": tab_two, **card_details("3,000")})
    assert too_much.status_code == 422
    assert "The amount due is $2,000.00; you cannot pay more than that." in text(too_much)
    assert (
        payer.post(path, data={"csrf_token": csrf, "checkout": tab_three, **card_details("2,000")}).status_code == 303
    )
    with app.app_context():
        assert [p.amount_cents for p in payments()] == [300_000, 200_000]
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert held_for(firm) == (500_000, 500_000)


def post_at_once(app, path, checkouts):
    """Each checkout posted by its own browser at the same moment; the responses, in order."""
    browsers = []
    for checkout in checkouts:
        browser = app.test_client()
        html = text(browser.get(path))
        browsers.append((browser, CSRF.search(html).group(1), checkout or CHECKOUT.search(html).group(1)))
    card = card_details("5,000")
    posts = [(browser, {"csrf_token": csrf, "checkout": checkout, **card}) for browser, csrf, checkout in browsers]
    return posted_at_once(path, posts)


@pg_only
def test_the_same_checkout_posted_many_times_at_once_pays_once(app, firm, mailbox):
    """A flaky phone connection retrying the same post eight times at the same moment."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)
    _, _, checkout = pay_form(app.test_client(), path)

    responses = post_at_once(app, path, [checkout] * 8)
    assert [getattr(r, "status_code", r) for r in responses] == [303] * 8
    assert {r.headers["Location"] for r in responses} == {f"{path}/receipts/R-000001"}
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.idempotency_key) == ("succeeded", checkout)
        assert deposits() == 1
        assert fee_expense() == 14_500 + 30
        assert held_for(firm) == (500_000, 500_000)
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert check_books() == []
    assert len(mailbox.to("ada.receipts@example.com")) == 1


@pg_only
def test_many_checkouts_for_the_whole_amount_at_once_pay_it_once(app, firm, mailbox):
    """Eight tabs (or eight people with the link) pay the whole amount at the same moment: one is taken."""
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox)

    responses = post_at_once(app, path, [None] * 8)
    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses[0] == 303 and all(400 <= s < 500 for s in statuses[1:]), statuses
    refused = [text(r) for r in responses if r.status_code != 303]
    assert all("Paid in full" in page for page in refused)
    with app.app_context():
        [payment] = payments()
        assert payment.status == "succeeded"
        assert deposits() == 1
        assert held_for(firm) == (500_000, 500_000)
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("paid", 500_000)
        assert check_books() == []
    assert len(mailbox.to("ada.receipts@example.com")) == 1
