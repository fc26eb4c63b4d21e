"""Steps the take-a-payment-now tests share: the staff form for a request or invoice, filled in and posted."""

import re

from tests.dates import card_expiry
from tests.requests.steps import CHECKOUT, CSRF, GOOD_CARD, text

PAYMENT_PAGE = re.compile(r"/bills/payments/(\d+)$")


def take_form(staff, url):
    """Open the Take-a-payment page: (html, csrf token, checkout key)."""
    page = staff.get(url)
    assert page.status_code == 200, text(page)
    html = text(page)
    return html, CSRF.search(html).group(1), CHECKOUT.search(html).group(1)


def card(amount, number=GOOD_CARD, **overrides):
    return {
        "amount": amount,
        "name": "Ada Archer",
        "number": number,
        "expiry": card_expiry(),
        "cvc": "123",
        **overrides,
    }


def take(staff, url, amount, number=GOOD_CARD, checkout=None, **overrides):
    """Staff type the client's card into the form and press Charge; (response, the form posted)."""
    _, csrf, fresh = take_form(staff, url)
    data = {"csrf_token": csrf, "checkout": checkout or fresh, **card(amount, number, **overrides)}
    return staff.post(url, data=data), data


def payment_id(response):
    """The payment whose staff page a 303 goes to."""
    assert response.status_code == 303, text(response)
    return int(PAYMENT_PAGE.search(response.headers["Location"]).group(1))
