"""Steps the PDF tests share: the firm's letterhead, and a PDF read back as its text."""

import io
import re

from pypdf import PdfReader

from trustweb.extensions import db
from trustweb.models import FirmSettings

FIRM = "Hartwell & Case LLP"


def name_firm(currency="USD"):
    """The firm's name, address and currency, as an admin saves them in Settings."""
    settings = db.session.get(FirmSettings, 1) or FirmSettings(id=1)
    settings.firm_name, settings.currency = FIRM, currency
    settings.address = "200 Harbor Street\nPortland, ME 04101"
    db.session.add(settings)
    db.session.commit()


def pdf_pages(response):
    """The PDF of a download, read back: its pages."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(response.data)).pages


def pdf_text(response):
    """The text of every page of a downloaded PDF, spaces run together, as a reader would copy it."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf_pages(response)))


def downloaded_as(response, filename):
    """True when the response is a download of that name that no cache keeps."""
    return (
        response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        and response.headers["Cache-Control"] == "no-store"
    )
