"""A printed or downloaded request or invoice carries a QR code of a fresh pay link, so a paper bill is paid from a
phone: the code is drawn inline (nothing fetched), the address is printed beneath it, and it opens the pay page."""

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.invoices.steps import invoice_for
from tests.pdf.steps import pdf_pages, pdf_text
from tests.requests.steps import gen_request, gen_sent_request, pay, text
from trustweb.extensions import db
from trustweb.models import AuditEvent, PayLink

QR = re.compile(r'<svg role="img" aria-label="QR code of the link to pay ([^"]+) online"[^>]*class="qrcode"')
PRINTED_URL = re.compile(r'<span class="payurl">(http://localhost(/pay/[A-Za-z0-9_-]+))</span>')


@pytest.fixture
def lawyer(app, firm):
    return signed_in(app, firm.lawyer)


def links_of(request_id):
    return db.session.scalars(select(PayLink).where(PayLink.trust_request_id == request_id)).all()


def drawn_path_operators(response):
    """How many path segments the PDF's first page draws (a QR code of a pay link is a few hundred)."""
    content = PdfReader(io.BytesIO(response.data)).pages[0].get_contents().get_data()
    return len(re.findall(rb"\sl\s", content))


def test_a_sent_request_prints_with_a_qr_code_of_a_new_pay_link_that_opens_its_pay_page(
    app, firm, mailbox, lawyer, payer
):
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, amount_cents=250_000)
        assert len(links_of(request_id)) == 1  # the emailed one
    printed = text(lawyer.get(f"/bills/requests/{request_id}/print"))
    assert QR.search(printed).group(1) == "TR-000001"
    assert "<title>QR code of the link to pay TR-000001 online</title>" in printed
    url, path = PRINTED_URL.search(printed).groups()
    # The address beneath the code is a working pay link: the client's phone opens the pay page.
    page = payer.get(path)
    assert page.status_code == 200 and "TR-000001" in text(page) and "$2,500.00" in text(page)
    with app.app_context():
        assert len(links_of(request_id)) == 2  # a new one for the copy: the emailed one is not stored in clear
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.link_printed")).all()
        assert [(e.object_id, e.user_id) for e in events] == [(str(request_id), firm.lawyer)]

    # The PDF draws the same code (no image fetched: it is inline SVG) with the address printed beneath it.
    response = lawyer.get(f"/bills/requests/{request_id}/pdf")
    letter = pdf_text(response)
    assert "scan this code" in letter
    # The token is 32 characters; a narrow column may wrap it, which the text read back shows as a space.
    token = re.sub(r"\s", "", re.search(r"http://localhost/pay/((?:[A-Za-z0-9_-]\s?){32})", letter).group(1))
    assert payer.get(f"/pay/{token}").status_code == 200
    assert drawn_path_operators(response) > 100
    assert len(pdf_pages(response)) == 1


def test_a_void_a_draft_and_a_paid_request_print_without_a_code(app, firm, mailbox, lawyer, payer):
    with app.app_context():
        draft_id = gen_request(firm)
        void_id, _ = gen_sent_request(firm, mailbox)
        paid_id, paid_path = gen_sent_request(firm, mailbox, amount_cents=10_000)
    assert post(lawyer, f"/bills/requests/{void_id}/void", {"reason": "Sent in error"}).status_code == 303
    assert pay(payer, paid_path, "100.00")[0].status_code == 303
    for request_id in (draft_id, void_id, paid_id):
        printed = text(lawyer.get(f"/bills/requests/{request_id}/print"))
        assert "<svg" not in printed and "/pay/" not in printed
        response = lawyer.get(f"/bills/requests/{request_id}/pdf")
        assert "/pay/" not in pdf_text(response) and drawn_path_operators(response) < 20
    with app.app_context():
        assert [len(links_of(i)) for i in (draft_id, void_id, paid_id)] == [0, 1, 1]  # no link made for a copy
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.link_printed")) is None


def test_a_sent_invoice_prints_with_a_qr_code_of_its_pay_link(app, firm, lawyer, payer):
    with app.app_context():
        invoice_id = invoice_for(firm, 250, 40_000)
        draft_id = invoice_for(firm, 100, 40_000, send=False)
    printed = text(lawyer.get(f"/bills/invoices/{invoice_id}/print"))
    number = QR.search(printed).group(1)
    assert number.startswith("INV-")
    _, path = PRINTED_URL.search(printed).groups()
    page = payer.get(path)
    assert page.status_code == 200 and number in text(page) and "$1,000.00" in text(page)
    response = lawyer.get(f"/bills/invoices/{invoice_id}/pdf")
    assert "scan this code" in pdf_text(response) and drawn_path_operators(response) > 100
    assert "<svg" not in text(lawyer.get(f"/bills/invoices/{draft_id}/print"))
