"""A lawyer asks for a retainer, the client pays from the emailed link in two halves: all through HTTP and SMTP."""

from sqlalchemy import select

from tests.conftest import post
from tests.dates import days_ago, days_ahead, iso
from tests.factories import gen_account, gen_trust_setup, gen_user, trust_ledger
from tests.requests.steps import pay, pay_form
from trustweb.extensions import db
from trustweb.models import JournalEntry, LedgerAccount, Payment, TrustRequest
from trustweb.services.books import check_books
from trustweb.services.trust import Holder


def test_a_client_pays_a_retainer_in_two_halves_from_the_emailed_link(app, client, auth, mailbox):
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        lawyer = gen_user("lawyer", email="amelia@firm.example.com", name="Amelia Hartwell")
        from trustweb.models import Matter

        matter = db.session.get(Matter, setup.matter_a1)
        matter.lawyer_id = lawyer.id
        db.session.commit()
    auth.login_as(lawyer)

    # The lawyer opens "New trust request" from the matter page: client and matter are filled in.
    form = client.get(f"/bills/requests/new?matter_id={setup.matter_a1}").get_data(as_text=True)
    assert f'<option selected value="{setup.matter_a1}">' in form
    assert "ada" in form.lower()
    response = post(
        client,
        "/bills/requests/new",
        {
            "contact_id": setup.client_a,
            "matter_id": setup.matter_a1,
            "account_id": setup.account,
            "amount": "5,000.00",
            "issued_on": iso(days_ago(10)),
            "due_on": iso(days_ahead(15)),
            "message": "Retainer for the purchase of 12 Elm St.",
            "template_id": 0,
            "allow_partial": "y",
            "recipients": "ada@example.com",
            "cc": "",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        trust_request = db.session.scalar(select(TrustRequest))
        assert (trust_request.number, trust_request.status, trust_request.amount_cents) == (
            "TR-000001",
            "draft",
            500_000,
        )
        request_id = trust_request.id

    # Send: the email arrives through SMTP with plain-text and HTML parts and the pay link.
    response = post(client, f"/bills/requests/{request_id}/send")
    assert response.status_code == 303
    [email] = mailbox.to("ada@example.com")
    assert "TR-000001" in email["Subject"]
    text = mailbox.text(email)
    assert "$5,000.00" in text and "Retainer for the purchase of 12 Elm St." in text
    assert "<a href=" in mailbox.html(email)
    link = mailbox.pay_link(email)
    path = link.removeprefix("http://localhost")

    # The client opens it (signed out, another device): the request is marked viewed.
    payer = app.test_client()
    html, _, _ = pay_form(payer, path)
    assert "$5,000.00" in html and "TEST MODE" in html and "noindex" in html
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "viewed"

    # Half now.
    response, _ = pay(payer, path, "2500.00")
    assert response.status_code == 303, response.get_data(as_text=True)
    receipt = payer.get(response.headers["Location"]).get_data(as_text=True)
    assert "R-000001" in receipt and "$2,500.00" in receipt
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("partially_paid", 250_000)

    # The rest later, from the same link.
    response, _ = pay(payer, path, "2,500.00")
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.paid_cents) == ("paid", 500_000)
        ledger = trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1))
        # Invariant 6: the client's ledger holds the full amount paid; the fees went to operating.
        assert (ledger.balance_cents, ledger.uncleared_cents) == (500_000, 0)
        fees = [p.fee_cents for p in db.session.scalars(select(Payment).order_by(Payment.id))]
        assert fees == [7_250 + 30, 7_250 + 30]  # 2.9% of $2,500.00 is $72.50, plus 30 cents
        expense = db.session.scalar(select(LedgerAccount).where(LedgerAccount.kind == "expense"))
        assert expense.balance_cents == sum(fees)
        assert (
            db.session.scalar(select(db.func.count()).select_from(JournalEntry).where(JournalEntry.kind == "deposit"))
            == 2
        )
        assert check_books() == []

    # The paid link now says so plainly.
    assert "Paid in full" in payer.get(path).get_data(as_text=True)
    # Receipts to the payer, notices to the lawyer.
    receipts = mailbox.to("ada.receipts@example.com")
    assert [m["Subject"].split(":")[0] for m in receipts] == ["Receipt R-000001", "Receipt R-000002"]
    notices = mailbox.to("amelia@firm.example.com")
    assert len(notices) == 2 and "paid $2,500.00 on TR-000001" in notices[-1]["Subject"]
    # The staff page shows it all.
    page = client.get(f"/bills/requests/{request_id}").get_data(as_text=True)
    assert "Paid" in page and "R-000002" in page
