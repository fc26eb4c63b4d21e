"""The portal's own session cookie, apart from the staff session: a client is never a staff user.

The cookie holds the session's token, signed with the time it was last refreshed. Each portal page signs it
again, so a client who keeps reading stays in; one who leaves it longer than PORTAL_IDLE_TIMEOUT is out, with
nothing written to the database on the way. The row (services/portal.py) bounds the whole session and is
what signing out and revoking delete.
"""

from flask import current_app, g, redirect, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from trustweb.models import Contact
from trustweb.portal import bp
from trustweb.services import portal as portal_service

COOKIE = "trustweb_portal"
COOKIE_PATH = "/portal"


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="trustweb.portal.session")


def current_client() -> Contact | None:
    """The signed-in client of this request, or None (read once per request)."""
    if "portal_client" not in g:
        token = None
        raw = request.cookies.get(COOKIE)
        if raw:
            idle = current_app.config["PORTAL_IDLE_TIMEOUT"].total_seconds()
            try:
                token = _serializer().loads(raw, max_age=idle)
            except BadData:
                token = None
        g.portal_token = token if isinstance(token, str) else None
        g.portal_client = portal_service.contact_for_session(g.portal_token)
    client: Contact | None = g.portal_client
    return client


def session_token() -> str | None:
    current_client()
    token: str | None = g.portal_token
    return token


def client_guard():
    """before_request for @client views: the signed-in client, or the sign-in page."""
    if current_client() is None:
        return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
    return None


def set_cookie(response, token):
    response.set_cookie(
        COOKIE,
        _serializer().dumps(token),
        max_age=int(current_app.config["PORTAL_IDLE_TIMEOUT"].total_seconds()),
        path=COOKIE_PATH,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def begin(response, contact, token):
    """The browser is now this client's (another client's session it had, if any, has ended)."""
    g.portal_client, g.portal_token = contact, token
    return set_cookie(response, token)


def clear_cookie(response):
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


@bp.after_request
def refresh(response):
    """Slide the inactivity limit on each page a signed-in client reads; drop a cookie that no longer signs in."""
    if "portal_client" not in g:
        return response
    if g.portal_client is not None and not g.get("portal_signed_out"):
        return set_cookie(response, g.portal_token)
    if request.cookies.get(COOKIE):
        return clear_cookie(response)
    return response
