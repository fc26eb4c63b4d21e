"""render_pdf: the printable template laid out on the firm's paper, its stylesheet read from disk, nothing else
fetched."""

import io
import logging

import pytest
from pypdf import PdfReader

from tests.pdf.steps import FIRM, name_firm
from tests.requests.steps import gen_request
from trustweb.extensions import db
from trustweb.models import TrustRequest
from trustweb.pdf import page_size, render_pdf, safe_filename
from trustweb.pdf_layout import StaticFiles


def pdf_of_request(firm):
    return render_pdf("bills/request_print.html", trust_request=db.session.get(TrustRequest, gen_request(firm)))


def test_the_stylesheet_is_read_from_disk_and_nothing_fails_to_load(app, firm, caplog):
    caplog.set_level(logging.WARNING)
    with app.test_request_context(base_url="https://trust.hartwell.example/office"), app.app_context():
        pdf = pdf_of_request(firm)
    assert pdf.startswith(b"%PDF-") and FIRM in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    refused = [r for r in caplog.records if r.levelno >= logging.ERROR or "refused" in r.getMessage()]
    assert refused == []


def test_only_the_apps_static_files_are_served_to_weasyprint(app):
    static = "http://localhost/static/"
    fetcher = StaticFiles(static, app.static_folder)
    with app.app_context():
        css = fetcher.fetch(static + "css/app.css?v=2")
        assert css.content_type == "text/css" and b"main.letter" in css.read()
        for url in (
            "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js",
            "http://localhost/bills/requests/1",  # no request to ourselves
            "http://elsewhere.example/static/css/app.css",
            static + "../trustweb/config.py",
            static + "%2e%2e/requirements.txt",
            static + "css/missing.css",
            "file:///etc/passwd",
            "http://localhost/portal/logo",  # the firm's logo only when the fetcher is given its address
        ):
            with pytest.raises(ValueError, match="not fetched for a PDF"):
                fetcher.fetch(url)


def test_a_firm_outside_north_america_prints_on_a4(app, firm):
    assert (page_size("USD"), page_size("CAD"), page_size("EUR"), page_size("GBP")) == ("letter", "letter", "A4", "A4")
    with app.app_context():
        name_firm(currency="EUR")
        with app.test_request_context():
            box = PdfReader(io.BytesIO(pdf_of_request(firm))).pages[0].mediabox
    assert (round(box.width), round(box.height)) == (595, 842)


def test_the_worker_can_make_a_pdf_outside_a_web_request(app, firm, caplog):
    """A command or the worker (a statement to email, say) renders on the firm's public address."""
    caplog.set_level(logging.WARNING)
    with app.app_context():
        pdf = pdf_of_request(firm)
    assert "TR-000001" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or "refused" in r.getMessage()] == []


def test_a_filename_cannot_break_its_header():
    assert safe_filename("TR-000123") == "TR-000123.pdf"
    assert safe_filename('a"b\r\nSet-Cookie: x=1; ../..') == "a-b-Set-Cookie-x-1.pdf"
    assert safe_filename("") == safe_filename('"') == "document.pdf"
