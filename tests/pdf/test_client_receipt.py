"""The client keeps the receipt as a PDF from the pay link: their own receipts only, like the receipt page."""

import secrets

from tests.pdf.steps import FIRM, downloaded_as, pdf_text
from tests.requests.steps import gen_sent_request, pay, text


def test_the_client_downloads_the_receipt_of_their_payment(app, firm, mailbox, payer):
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox, amount_cents=250_000, allow_partial=True)
    paid, _ = pay(payer, path, "1,000.00", name="A. Archer")
    receipt_page = text(payer.get(paid.headers["Location"]))
    assert f'href="{path}/receipts/R-000001.pdf"' in receipt_page

    response = payer.get(f"{path}/receipts/R-000001.pdf")
    assert downloaded_as(response, "R-000001.pdf")
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    receipt = pdf_text(response)
    for shown in (FIRM, "TEST MODE", "Receipt R-000001", "A. Archer", "$1,000.00", "Card ending 4242", "TR-000001"):
        assert shown in receipt
    assert "STILL DUE ON TR-000001 $1,500.00" in receipt


def test_another_link_or_another_clients_receipt_is_not_found(app, firm, mailbox, payer):
    with app.app_context():
        _, ben_path = gen_sent_request(
            firm, mailbox, contact_id=firm.client_b, matter_id=firm.matter_b1, recipients=["ben@example.com"]
        )
        _, ada_path = gen_sent_request(firm, mailbox)
    assert pay(app.test_client(), ben_path, "5,000.00")[0].status_code == 303  # Ben's payment: R-000001

    # Ada's link does not open Ben's receipt, nor one that does not exist; a guessed link opens nothing.
    for url in (
        f"{ada_path}/receipts/R-000001.pdf",
        f"{ada_path}/receipts/R-999999.pdf",
        f"/pay/{secrets.token_urlsafe(24)}/receipts/R-000001.pdf",
    ):
        response = payer.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "text/html" and "Ben Baker" not in text(response)
    assert payer.get(f"{ben_path}/receipts/R-000001.pdf").status_code == 200


def test_a_stream_of_receipt_downloads_is_rate_limited(app, firm, payer):
    """Each PDF is laid out anew; someone asking for receipt after receipt is stopped after twenty a minute."""
    token = secrets.token_urlsafe(24)
    statuses = [payer.get(f"/pay/{token}/receipts/R-{n:06d}.pdf").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]
