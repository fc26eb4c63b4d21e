"""A payment's receipt as a PDF: the same one for staff (the Bills tab) and for the client (the pay link)."""

from trustweb.pdf import pdf_response, render_pdf
from trustweb.services.trust import METHODS, firm_today


def receipt_pdf(payment):
    """The receipt of a payment that has one, as a PDF download named for its number."""
    pdf = render_pdf(
        "pay/receipt_print.html", payment=payment, payable=payment.payable, methods=METHODS, today=firm_today()
    )
    return pdf_response(pdf, payment.receipt_number)
