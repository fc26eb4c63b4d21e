from flask import Blueprint

bp = Blueprint("pay", __name__, url_prefix="/pay")


def private(response):
    """The client's pages: never indexed, never cached, and no Referer (a link's token must not leak)."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")  # unless the view says otherwise (the firm's logo)
    return response


bp.after_request(private)

from trustweb.pay import routes  # noqa: E402,F401
