"""PDFs of the printable pages: the same Jinja template a browser prints, laid out by WeasyPrint.

Any printable template becomes a PDF with `pdf_response(render_pdf("area/thing_print.html", **context), number)`:
receipts, invoices and trust requests do so, and a statement can. The page's stylesheet (and any image) under
/static/ is read from the static folder on disk; nothing is asked of the network or of this app over HTTP, and
every other address is refused, so a PDF looks the same on an intranet with no internet.
"""

import importlib
import re
from types import ModuleType

from flask import Response, current_app, has_request_context, render_template, request, url_for
from werkzeug.exceptions import ServiceUnavailable

# Letter where the firm keeps US or Canadian dollars, A4 everywhere else.
LETTER_CURRENCIES = frozenset({"USD", "CAD"})
PAGE_CSS = """
@page {{ size: {size}; margin: 18mm 16mm 20mm;
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #5f6b7a; }} }}
.noprint {{ display: none; }}
main.letter {{ margin: 0; padding: 0; max-width: none; }}
"""


def page_size(currency: str) -> str:
    return "letter" if currency in LETTER_CURRENCIES else "A4"


def render_pdf(template_name: str, **context) -> bytes:
    """The template rendered as for the browser, then laid out on the firm's paper as a PDF."""
    if not has_request_context():  # the worker or a command: addresses on the firm's public one
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            return render_pdf(template_name, **context)
    from trustweb.templating import firm

    layout = _layout()
    html = render_template(template_name, **context)
    fetcher = layout.StaticFiles(
        url_for("static", filename="", _external=True),
        str(current_app.static_folder),
        logo_url=url_for("portal.logo", _external=True),
    )
    page = layout.CSS(string=PAGE_CSS.format(size=page_size(firm().currency)), url_fetcher=fetcher)
    pdf: bytes = layout.HTML(string=html, base_url=request.url_root, url_fetcher=fetcher).write_pdf(stylesheets=[page])
    return pdf


class PdfUnavailable(ServiceUnavailable):
    description = (
        "PDFs cannot be made on this server: the system libraries WeasyPrint needs (Pango, HarfBuzz) are missing. "
        "Ask the firm's administrator to install them (README, \u201cRunning it in production\u201d)."
    )


def _layout() -> ModuleType:
    """WeasyPrint, loaded with the first PDF a process makes: the app starts (and every other page works) on a
    server that lacks its system libraries, and a worker that makes no PDF never pays its half a second."""
    try:
        return importlib.import_module("trustweb.pdf_layout")
    except (OSError, ImportError) as error:  # cffi could not load Pango or its kin, or WeasyPrint is missing
        current_app.logger.error("PDF: WeasyPrint cannot load its system libraries: %s", error)
        raise PdfUnavailable() from error


def safe_filename(name: str) -> str:
    """TR-000123.pdf: letters, digits, dot, dash and underscore only, so the header cannot be broken."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:80] or "document") + ".pdf"


def pdf_response(pdf: bytes, name: str) -> Response:
    """A download of the PDF, named for its document, never kept in a cache."""
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(name)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
