"""The client's documents as PDFs from the portal: a trust statement, their requests, invoices and receipts, each
read back and its figures checked, each download in the audit trail, the firm's logo on the letterhead."""

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from tests.pdf.steps import downloaded_as, name_firm, pdf_pages, pdf_text
from tests.portal.steps import ADA, signed_in_client
from trustweb.extensions import db
from trustweb.models import AuditEvent, Invoice, LedgerAccount, Payment, TrustRequest, User
from trustweb.services import firm as firm_service
from trustweb.services.trust import firm_today


def own_ledger(firm):
    return db.session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.contact_id == firm.client_a, LedgerAccount.matter_id == firm.matter_a1
        )
    )


def viewed(app):
    with app.app_context():
        return [e.after for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "portal.viewed"))]


def test_a_trust_statement_as_a_pdf_carries_the_same_figures_as_the_page(app, firm, mailbox):
    with app.app_context():
        name_firm()
        ledger = own_ledger(firm)
        today = firm_today()
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = browser.get(f"/portal/ledgers/{ledger}.pdf")
    assert downloaded_as(response, f"trust-statement-{today.isoformat()}.pdf")
    text = pdf_text(response)
    for figure in ("Hartwell & Case LLP", "Trust statement", "Ada Archer", "Purchase of 12 Elm St", "Clerk of Court"):
        assert figure in text, figure
    assert "opening balance $0.00" in text.lower() and "closing balance $2,525.00" in text.lower()
    later = browser.get(f"/portal/ledgers/{ledger}.pdf?from={(today + timedelta(days=1)).isoformat()}")
    assert "Nothing came in or went out in this period." in pdf_text(later)
    assert "opening balance $2,525.00" in pdf_text(later).lower()
    bad = browser.get(f"/portal/ledgers/{ledger}.pdf?to=yesterday")
    assert bad.status_code == 400 and "is not a date" in bad.get_data(as_text=True)
    assert viewed(app) == ['{"what":"statement PDF"}'] * 2


def test_the_clients_request_invoice_and_receipt_as_pdfs(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        request_number = db.session.get(TrustRequest, firm.request_a).number
        invoice_number = db.session.get(Invoice, firm.invoice_a).number
        receipt_number = db.session.get(Payment, firm.payment_a).receipt_number
    request_pdf = browser.get(f"/portal/requests/{firm.request_a}.pdf")
    assert downloaded_as(request_pdf, f"{request_number}.pdf")
    assert request_number in pdf_text(request_pdf) and "$850.00" in pdf_text(request_pdf)
    invoice_pdf = browser.get(f"/portal/invoices/{firm.invoice_a}.pdf")
    assert invoice_number in pdf_text(invoice_pdf) and "$600.00" in pdf_text(invoice_pdf)
    receipt_pdf = browser.get(f"/portal/receipts/{firm.payment_a}.pdf")
    assert downloaded_as(receipt_pdf, f"{receipt_number}.pdf")
    assert receipt_number in pdf_text(receipt_pdf) and "$150.00" in pdf_text(receipt_pdf)
    assert viewed(app) == ['{"what":"request PDF"}', '{"what":"invoice PDF"}', '{"what":"receipt PDF"}']


def test_the_firms_logo_heads_its_pdfs(app, firm, mailbox):
    image = io.BytesIO()
    Image.new("RGB", (300, 100), (20, 60, 120)).save(image, "PNG")
    with app.app_context():
        firm_service.save_logo(image.getvalue(), db.session.get(User, firm.lawyer))
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    [page] = pdf_pages(browser.get(f"/portal/requests/{firm.request_a}.pdf"))
    assert len(page.images) == 1
    home = browser.get("/portal/").get_data(as_text=True)
    assert 'src="/portal/logo?v=' in home
