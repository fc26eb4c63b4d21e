"""What WeasyPrint needs to lay out a PDF, in a module of its own: trustweb/pdf.py imports it with the first PDF a
process makes, so the rest of the app never waits on WeasyPrint or needs its system libraries."""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

__all__ = ["CSS", "HTML", "StaticFiles"]


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
