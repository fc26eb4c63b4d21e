"""Pay outstanding invoices from trust: the preview is exactly what the batch then does, or nothing happens."""

import re

from sqlalchemy import select

from tests.conftest import post
from tests.invoices.steps import invoice_for, retainer
from trustweb.extensions import db
from trustweb.models import Invoice, TrustApplication, User
from trustweb.services.books import check_books

FIELD = r'name="{}" value="([^"]*)"'


def hidden(page, name):
    return re.search(FIELD.format(name), page).group(1)


def test_the_preview_is_what_the_batch_does(app, client, auth, firm):
    with app.app_context():
        retainer(firm, 50_000)
        first = invoice_for(firm, 100, 30_000)  # $300.00
        second = invoice_for(firm, 100, 40_000)  # $400.00: only $200.00 is left for it
        other = invoice_for(firm, 100, 10_000, matter=firm.matter_b1)  # client B holds nothing
        lawyer = db.session.get(User, firm.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    page = client.get("/bills/invoices/batch").get_data(as_text=True)
    rows = re.findall(
        r"<tr class=\"[^\"]*\"><td[^>]*><a [^>]+>(INV-\d+)</a>.*?"
        r"<td[^>]* class=\"num\">([^<]+)</td><td[^>]*>([^<]*)</td></tr>",
        page,
        re.S,
    )
    preview = {number: amount for number, amount, _ in rows}
    assert preview == {"INV-000001": "$300.00", "INV-000002": "$200.00", "INV-000003": "—"}
    assert "Nothing available in trust" in page or "No trust money is held" in page
    data = {name: hidden(page, name) for name in ("digest", "key", "lawyer")}
    assert post(client, "/bills/invoices/batch", data).status_code == 303
    with app.app_context():
        applied = {a.invoice.number: a.amount_cents for a in db.session.scalars(select(TrustApplication))}
        assert applied == {"INV-000001": 30_000, "INV-000002": 20_000}
        assert [db.session.get(Invoice, i).status for i in (first, second, other)] == ["paid", "partially_paid", "sent"]
        assert check_books() == []
    # The same form again (a double click): the books changed since its preview, so nothing more happens.
    response = post(client, "/bills/invoices/batch", data)
    assert response.status_code == 409 and "changed since the preview" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(TrustApplication).count() == 2


def test_a_batch_is_refused_whole_when_a_balance_changed_after_the_preview(app, client, auth, firm):
    with app.app_context():
        retainer(firm, 50_000)
        invoice_for(firm, 100, 30_000)
        lawyer = db.session.get(User, firm.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    page = client.get("/bills/invoices/batch").get_data(as_text=True)
    data = {name: hidden(page, name) for name in ("digest", "key", "lawyer")}
    with app.app_context():
        invoice_for(firm, 100, 10_000)  # a new invoice since the preview
    response = post(client, "/bills/invoices/batch", data)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.query(TrustApplication).count() == 0
