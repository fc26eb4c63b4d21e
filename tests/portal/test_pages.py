"""What a signed-in client does in the portal: pays what is open through the pay page, reads a matter's trust
statement over dates of their choosing and downloads it, finds their documents; and what staff see of it."""

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.portal.steps import ADA, BEN, invite, signed_in_client
from tests.requests.steps import BASE_URL, gen_request, pay, send, text
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, LedgerAccount, PayLink, TrustRequest
from trustweb.models.base import utcnow
from trustweb.services.trust import Holder, firm_today, record_deposit


def ledger_id(app, contact_id, matter_id):
    with app.app_context():
        return db.session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.contact_id == contact_id, LedgerAccount.matter_id == matter_id)
        )


def audit_actions(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_the_client_pays_an_open_request_from_the_portal_and_sees_the_money_held(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = post(browser, f"/portal/requests/{firm.request_a}/pay")
    assert response.status_code == 303
    path = response.headers["Location"]
    assert path.startswith("/pay/")
    with app.app_context():
        link = db.session.scalars(select(PayLink).order_by(PayLink.id.desc())).first()
        assert link.trust_request_id == firm.request_a and link.created_by_id is None
        assert timedelta(hours=23) < link.expires_at - utcnow() <= timedelta(days=1)
    paid, _ = pay(browser, path, "850.00")
    assert paid.status_code == 303 and "/receipts/" in paid.headers["Location"]
    assert 'href="/portal/">Your client portal' in text(browser.get(paid.headers["Location"]))
    home = text(browser.get("/portal/"))
    assert "$3,375.00" in home  # 2,525.00 held before, and 850.00 paid now
    assert "Nothing to pay right now" not in home  # the invoice is still open
    assert f"/portal/requests/{firm.request_a}/pay" not in home
    documents = text(browser.get("/portal/documents"))
    assert documents.count("R-0") >= 2 and "$850.00" in documents
    [event] = audit_actions(app, "portal.pay_link")
    assert event.actor == f"client {firm.client_a}: Ada Archer"


def test_the_client_pays_an_invoice_from_the_portal_into_operating(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = post(browser, f"/portal/invoices/{firm.invoice_a}/pay")
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200 and "Invoice INV-" in text(page) and "$600.00" in text(page)


def test_pay_on_a_request_paid_meanwhile_says_so(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        request = db.session.get(TrustRequest, firm.request_a)
        request.paid_cents, request.status = request.amount_cents, "paid"
        db.session.commit()
    response = post(browser, f"/portal/requests/{firm.request_a}/pay")
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/")
    assert "has nothing left to pay" in text(browser.get("/portal/"))


def test_a_statement_shows_opening_running_and_closing_balances_for_the_dates_chosen(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    url = f"/portal/ledgers/{ledger_id(app, firm.client_a, firm.matter_a1)}"
    html = text(browser.get(url))
    assert "Purchase of 12 Elm St" in html
    for figure in ("$2,500.00", "$125.00", "$150.00", "$2,525.00", "Clerk of Court", "Filing fee"):
        assert figure in html, figure
    with app.app_context():
        tomorrow = (firm_today() + timedelta(days=1)).isoformat()
    later = text(browser.get(f"{url}?from={tomorrow}"))
    assert "Nothing came in or went out in these dates" in later
    assert later.count("$2,525.00") == 2  # opening and closing balance alike
    viewed = audit_actions(app, "portal.viewed")
    assert [event.after for event in viewed] == ['{"what":"statement"}'] * 2


def test_a_statement_with_a_bad_date_says_what_is_wrong(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    url = f"/portal/ledgers/{ledger_id(app, firm.client_a, firm.matter_a1)}"
    bad = browser.get(f"{url}?from=31/12/2024")
    assert bad.status_code == 400 and "“31/12/2024” is not a date; use YYYY-MM-DD." in text(bad)
    with app.app_context():
        today = firm_today()
    backwards = browser.get(f"{url}?from={today.isoformat()}&to={(today - timedelta(days=3)).isoformat()}")
    assert backwards.status_code == 400 and "The start date is after the end date." in text(backwards)
    assert audit_actions(app, "portal.viewed") == []


def test_a_statement_downloads_as_csv(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = browser.get(f"/portal/ledgers/{ledger_id(app, firm.client_a, firm.matter_a1)}?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff") and "Closing balance,2525.00" in body and "Clerk of Court" in body
    assert "Ben Baker" not in body
    [event] = audit_actions(app, "portal.viewed")
    assert event.after == '{"what":"statement CSV"}'


def test_funds_held_without_a_matter_have_their_own_statement(app, firm, mailbox):
    with app.app_context():
        from trustweb.models import BankAccount

        record_deposit(
            account=db.session.get(BankAccount, firm.account),
            holder=Holder(firm.client_a, None),
            amount_cents=3_300,
            entry_date=firm_today(),
            method="cash",
            payer="Ada Archer",
        )
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    home = text(browser.get("/portal/"))
    assert "Funds not tied to a matter" in home and "$33.00" in home
    statement = browser.get(f"/portal/ledgers/{ledger_id(app, firm.client_a, None)}")
    assert statement.status_code == 200 and "$33.00" in text(statement)


def test_documents_list_what_was_sent_to_the_client_and_their_receipts_only(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    html = text(browser.get("/portal/documents"))
    with app.app_context():
        numbers = {r.id: r.number for r in db.session.scalars(select(TrustRequest))}
    assert numbers[firm.request_a] in html and numbers[firm.draft_a] not in html and numbers[firm.request_b] not in html
    assert "$150.00" in html and "$100.00" not in html


def test_request_emails_point_to_the_portal_once_the_client_has_access(app, firm, mailbox):
    with app.app_context():
        before = gen_request(firm, amount_cents=12_300)
        send(before, firm.lawyer)
    assert "/portal/" not in mailbox.text(mailbox.to(ADA)[-1])
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
        after = gen_request(firm, amount_cents=45_600)
        send(after, firm.lawyer)
    email = [m for m in mailbox.to(ADA) if "$456.00" in mailbox.text(m)][-1]
    assert f"client portal: {BASE_URL}/portal/sign-in" in mailbox.text(email)
    assert f'href="{BASE_URL}/portal/sign-in"' in mailbox.html(email)


def test_staff_invite_from_the_contact_page_see_the_last_sign_in_and_revoke(app, firm, mailbox):
    lawyer = signed_in(app, firm.lawyer)
    page = text(lawyer.get(f"/contacts/{firm.client_a}"))
    assert "has no portal access" in page and "Invite to the portal" in page
    response = post(lawyer, f"/contacts/{firm.client_a}/portal/invite")
    assert response.status_code == 303
    page = text(lawyer.get(f"/contacts/{firm.client_a}"))
    assert "Portal invitation to ada@example.com queued" in page and "Has not signed in yet" in page
    from tests.portal.steps import portal_path, use_link

    use_link(app.test_client(), portal_path(mailbox, ADA))
    page = text(lawyer.get(f"/contacts/{firm.client_a}"))
    assert "Last signed in" in page and "Revoke access" in page
    post(lawyer, f"/contacts/{firm.client_a}/portal/revoke")
    page = text(lawyer.get(f"/contacts/{firm.client_a}"))
    assert "Access revoked" in page and "Invite to the portal" in page
    assert [e.action for e in audit_actions(app, "portal.invited")] == ["portal.invited"]
    assert [e.action for e in audit_actions(app, "portal.revoked")] == ["portal.revoked"]


def test_a_contact_without_an_email_cannot_be_invited(app, firm):
    with app.app_context():
        db.session.get(Contact, firm.client_b).email = None
        db.session.commit()
    lawyer = signed_in(app, firm.lawyer)
    assert "Add an email address to invite" in text(lawyer.get(f"/contacts/{firm.client_b}"))
    post(lawyer, f"/contacts/{firm.client_b}/portal/invite")
    assert "has no email address; add one before inviting them" in text(lawyer.get(f"/contacts/{firm.client_b}"))
    assert audit_actions(app, "portal.invited") == []
    assert BEN  # client B keeps no portal access


def test_an_overdue_request_says_so_and_one_due_later_gives_its_date(app, firm, mailbox):
    with app.app_context():
        today = firm_today()
        late = gen_request(
            firm, amount_cents=31_400, issued_on=today - timedelta(days=20), due_on=today - timedelta(days=2)
        )
        send(late, firm.lawyer)
        soon = gen_request(firm, amount_cents=27_100, due_on=today + timedelta(days=9))
        send(soon, firm.lawyer)
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    home = text(browser.get("/portal/"))
    assert home.count("Overdue") == 1
    assert f"$271.00 due by {(today + timedelta(days=9)).strftime('%B %-d, %Y')}" in home


def test_a_receipt_email_points_to_the_portal_too(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = post(browser, f"/portal/requests/{firm.request_a}/pay")
    pay(browser, response.headers["Location"], "850.00", email=ADA)
    [receipt] = [m for m in mailbox.to(ADA) if m["Subject"].startswith("Receipt R-") and "$850.00" in m["Subject"]]
    assert f"client portal: {BASE_URL}/portal/sign-in" in mailbox.text(receipt)


def test_a_long_statement_shows_its_newest_lines_first_a_page_at_a_time(app, firm, mailbox, monkeypatch):
    from trustweb.portal import routes as portal_routes

    monkeypatch.setattr(portal_routes, "LINES_PER_PAGE", 2)
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    url = f"/portal/ledgers/{ledger_id(app, firm.client_a, firm.matter_a1)}"
    newest = text(browser.get(url))  # three lines: the retainer, the filing fee, the cheque
    assert "Lines 3–3 of 3" in newest and "Earlier lines" in newest and "Later lines" not in newest
    assert "Clerk of Court" not in newest and "$2,525.00" in newest
    first = text(browser.get(f"{url}?page=1"))
    assert "Lines 1–2 of 3" in first and "Clerk of Court" in first and "Later lines" in first
    assert "Lines 3–3 of 3" in text(browser.get(f"{url}?page=99"))
    assert "Lines 3–3 of 3" in text(browser.get(f"{url}?page=x"))
