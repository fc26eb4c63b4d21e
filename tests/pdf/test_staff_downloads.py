"""Staff download a trust request, an invoice and a receipt as PDFs: the printable page's figures, read back."""

import re

import pytest

from tests.conftest import post, signed_in
from tests.dates import days_ago, iso, today
from tests.invoices.steps import invoice_for
from tests.pdf.steps import FIRM, downloaded_as, pdf_pages, pdf_text
from tests.requests.steps import DECLINED_CARD, gen_sent_request, pay, payments, text
from trustweb.extensions import db
from trustweb.models import Invoice, Matter

RECEIPT_PDF = re.compile(r'href="(/bills/payments/\d+/receipt\.pdf)"')


@pytest.fixture
def lawyer(app, firm):
    """The lawyer, signed in on a browser of their own."""
    return signed_in(app, firm.lawyer)


def test_a_part_paid_request_downloads_as_the_letter_it_prints(app, firm, mailbox, payer, lawyer):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, amount_cents=500_000, allow_partial=True)
        matter = db.session.get(Matter, firm.matter_a1).number
    assert pay(payer, path, "1,234.56")[0].status_code == 303

    page = text(lawyer.get(f"/bills/requests/{request_id}"))
    assert f'href="/bills/requests/{request_id}/pdf"' in page
    response = lawyer.get(f"/bills/requests/{request_id}/pdf")
    assert downloaded_as(response, "TR-000001.pdf")
    letter = pdf_text(response)
    printed = text(lawyer.get(f"/bills/requests/{request_id}/print"))
    for shown in (FIRM.replace("&", "&amp;"), "TR-000001", "Ada Archer", matter, "$5,000.00", "$1,234.56", "$3,765.44"):
        assert shown in printed
    for shown in (FIRM, "200 Harbor Street", "Request for funds in trust TR-000001", "Ada Archer", matter):
        assert shown in letter
    assert "AMOUNT REQUESTED $5,000.00" in letter and "PAID $1,234.56" in letter and "AMOUNT DUE $3,765.44" in letter
    assert today().strftime("%B %-d, %Y") in letter
    assert "Back to TR-000001" not in letter  # the printed page's link back is not on paper
    # A firm that keeps US dollars prints on letter paper.
    assert [(round(p.mediabox.width), round(p.mediabox.height)) for p in pdf_pages(response)] == [(612, 792)]

    # The card payment's receipt, from the request's payments.
    receipt = lawyer.get(RECEIPT_PDF.search(page).group(1))
    assert downloaded_as(receipt, "R-000001.pdf")
    receipt_text = pdf_text(receipt)
    for shown in (FIRM, "TEST MODE", "Receipt R-000001", "Ada Archer", "$1,234.56", "Card ending 4242"):
        assert shown in receipt_text
    assert f"Trust request TR-000001, matter {matter}" in receipt_text
    assert "Client Trust (IOLTA), a trust account" in receipt_text
    assert "STILL DUE ON TR-000001 $3,765.44" in receipt_text


def test_an_invoice_and_its_cheque_download_with_their_figures(app, firm, lawyer):
    with app.app_context():
        invoice_id = invoice_for(firm, 250, 40_000)  # 2.5 hours at $400.00
        number = db.session.get(Invoice, invoice_id).number
    cheque = {
        "payment-key": "cheque-1042-000000000000",
        "payment-amount": "250.00",
        "payment-received_on": iso(days_ago(2)),
        "payment-method": "cheque",
        "payment-payer": "Archer Holdings Ltd",
        "payment-reference": "Cheque 1042",
    }
    assert post(lawyer, f"/bills/invoices/{invoice_id}/payments", cheque).status_code == 200

    page = text(lawyer.get(f"/bills/invoices/{invoice_id}"))
    assert f'href="/bills/invoices/{invoice_id}/pdf"' in page
    response = lawyer.get(f"/bills/invoices/{invoice_id}/pdf")
    assert downloaded_as(response, f"{number}.pdf")
    invoice = pdf_text(response)
    for shown in (FIRM, f"Invoice {number}", "Ada Archer", "Review of title and closing", "2.50", "$400.00"):
        assert shown in invoice
    assert "Total $1,000.00" in invoice and "Paid $250.00" in invoice and "Balance due $750.00" in invoice

    receipt = lawyer.get(RECEIPT_PDF.search(page).group(1))
    assert downloaded_as(receipt, "R-000001.pdf")
    receipt_text = pdf_text(receipt)
    for shown in ("Receipt R-000001", "Archer Holdings Ltd", "$250.00", "Cheque · reference Cheque 1042"):
        assert shown in receipt_text
    assert f"Invoice {number}" in receipt_text and f"{FIRM}'s operating account" in receipt_text
    assert days_ago(2).strftime("%B %-d, %Y") in receipt_text
    assert "TEST MODE" not in receipt_text and "trust account" not in receipt_text


def test_what_does_not_exist_or_has_no_receipt_is_not_found(app, firm, mailbox, payer, lawyer):
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox)
    assert pay(payer, path, "5,000.00", card=DECLINED_CARD)[0].status_code == 402
    with app.app_context():
        (declined,) = payments("failed")
    for url in ("/bills/requests/999/pdf", "/bills/invoices/999/pdf", "/bills/payments/999/receipt.pdf"):
        assert lawyer.get(url).status_code == 404, url
    # A declined card took nothing: there is no receipt to give.
    assert lawyer.get(f"/bills/payments/{declined.id}/receipt.pdf").status_code == 404


@pytest.mark.parametrize("url", ["/bills/requests/1/pdf", "/bills/invoices/1/pdf", "/bills/payments/1/receipt.pdf"])
def test_a_stranger_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")


def test_a_server_without_weasyprints_libraries_says_so_instead_of_failing(app, firm, mailbox, lawyer, monkeypatch):
    """Every other page works without Pango; a PDF is a 503 naming what to install."""
    import sys

    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox)
    monkeypatch.setitem(sys.modules, "trustweb.pdf_layout", None)  # as if importing it failed
    response = lawyer.get(f"/bills/requests/{request_id}/pdf")
    assert response.status_code == 503 and "Pango, HarfBuzz" in text(response)
    assert lawyer.get(f"/bills/requests/{request_id}").status_code == 200
