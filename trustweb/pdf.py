"""PDFs of the printable pages: the same Jinja template a browser prints, laid out by WeasyPrint.

Any printable template becomes a PDF with `pdf_response(render_pdf("area/thing_print.html", **context), number)`:
receipts, invoices and trust requests do so, and a statement can. The page's stylesheet (and any image) under
/static/ is read from the static folder on disk; nothing is asked of the network or of this app over HTTP, and
every other address is refused, so a PDF looks the same on an intranet with no internet.
"""

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Response, current_app, has_request_context, render_template, request, url_for
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

# Letter where the firm keeps US or Canadian dollars, A4 everywhere else.
LETTER_CURRENCIES = frozenset({"USD", "CAD"})
PAGE_CSS = """
@page {{ size: {size}; margin: 18mm 16mm 20mm;
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #5f6b7a; }} }}
.noprint {{ display: none; }}
main.letter {{ margin: 0; padding: 0; max-width: none; }}
"""


class StaticFiles(URLFetcher):
    """WeasyPrint's fetcher for a PDF: files under the app's /static/ address from disk; any other address refused."""

    def __init__(self, static_url: str, folder: str, logo_url: str | None = None):
        super().__init__(allowed_protocols=())
        self.static_url, self.folder, self.logo_url = static_url, folder, logo_url

    def fetch(self, url, headers=None):
        """The file the address names in the static folder, or the firm's logo (kept in the database); a
        ValueError (WeasyPrint logs it) for anything else."""
        if self.logo_url and urlsplit(url)._replace(query="") == urlsplit(self.logo_url)._replace(query=""):
            return self.logo(url)
        path = safe_join(self.folder, unquote(urlsplit(url).path[len(urlsplit(self.static_url).path) :]))
        if not url.startswith(self.static_url) or path is None or not Path(path).is_file():
            current_app.logger.warning("PDF: refused to fetch %.200s", url)
            raise ValueError(f"not fetched for a PDF: {url[:200]}")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(path).read_bytes(), {"Content-Type": content_type})

    @staticmethod
    def logo(url):
        from trustweb.extensions import db
        from trustweb.models import FirmLogo

        logo = db.session.get(FirmLogo, 1)
        if logo is None:
            raise ValueError("the firm has no logo")
        return URLFetcherResponse(url, logo.data, {"Content-Type": logo.content_type})


def page_size(currency: str) -> str:
    return "letter" if currency in LETTER_CURRENCIES else "A4"


def render_pdf(template_name: str, **context) -> bytes:
    """The template rendered as for the browser, then laid out on the firm's paper as a PDF."""
    if not has_request_context():  # the worker or a command: addresses on the firm's public one
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            return render_pdf(template_name, **context)
    from trustweb.templating import firm

    html = render_template(template_name, **context)
    fetcher = StaticFiles(
        url_for("static", filename="", _external=True),
        str(current_app.static_folder),
        logo_url=url_for("portal.logo", _external=True),
    )
    page = CSS(string=PAGE_CSS.format(size=page_size(firm().currency)), url_fetcher=fetcher)
    return HTML(string=html, base_url=request.url_root, url_fetcher=fetcher).write_pdf(stylesheets=[page])


def safe_filename(name: str) -> str:
    """TR-000123.pdf: letters, digits, dot, dash and underscore only, so the header cannot be broken."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:80] or "document") + ".pdf"


def pdf_response(pdf: bytes, name: str) -> Response:
    """A download of the PDF, named for its document, never kept in a cache."""
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(name)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
