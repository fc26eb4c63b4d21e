"""Who may do what: the one permission table every route consults.

A view declares the permission it needs with @requires("name"), declares
itself @public, or belongs to the client portal (@client); the guard in
check_access() runs before every request and refuses anything that declares
none of these, so a new route is closed by default.
"""

from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from trustweb.models import ROLES

EVERYONE = frozenset(ROLES)

PERMISSIONS = {
    "view": EVERYONE,  # dashboard, contact and matter pages
    "edit_clients": EVERYONE,  # create and edit contacts and matters
    "record_deposit": EVERYONE,  # money into trust
    # A client's card taken on the spot: the front of the firm, not the bookkeeper who reconciles what came in.
    "take_payments": frozenset({"admin", "lawyer", "staff"}),
    "manage_requests": EVERYONE,  # create, edit, send and remind trust requests; share pay links
    "approve_requests": frozenset({"admin", "lawyer"}),
    "void_requests": frozenset({"admin", "lawyer"}),
    "clear_deposits": frozenset({"admin", "lawyer", "bookkeeper"}),
    "reconcile": frozenset({"admin", "bookkeeper"}),  # import statements, match them, sign reconciliations
    "disburse_trust": frozenset({"admin", "lawyer"}),  # money out of trust: payments, transfers, reversals
    "read_outbox": frozenset({"admin", "bookkeeper"}),  # every email, as sent; retry and cancel them
    # The audit trail: every event with its before and after, its chain verified, exported.
    "read_audit": frozenset({"admin", "bookkeeper"}),
    # The whole books in one file (every client, every account): for the firm's books and its auditor.
    "export_books": frozenset({"admin", "bookkeeper"}),
    # An operating account's register and its CSV: the firm's own books (fees, processor fees, transfers).
    "read_operating": frozenset({"admin", "bookkeeper"}),
    "manage_users": frozenset({"admin"}),
    "manage_settings": frozenset({"admin"}),
    "manage_accounts": frozenset({"admin"}),
}


def can(user, permission):
    """True when the signed-in user's role grants the permission."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(user and user.is_authenticated and user.role in PERMISSIONS[permission])


def requires(permission):
    """Mark a view as needing a permission from the table."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorate(view):
        view.permission = permission
        return view

    return decorate


def public(view):
    """Mark a view as open to anyone, signed in or not."""
    view.public = True
    return view


def client(view):
    """Mark a view as the client portal's: open only to a client signed in to the portal, never to staff."""
    view.client = True
    return view


def safe_next(target):
    """Only a path on this site; anything with a scheme or host is an open redirect."""
    if not target or any(not ch.isprintable() or ch.isspace() for ch in target):
        return None
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login_redirect():
    """Send an anonymous visitor to the login page, keeping where they were going."""
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def check_access():
    """before_request guard: authentication, then the view's permission."""
    if request.endpoint is None:
        return None  # 404 and 405 are handled by Flask
    if request.endpoint == "static":
        return None
    view = current_app.view_functions[request.endpoint]
    if getattr(view, "public", False):
        return None
    if getattr(view, "client", False):
        from trustweb.portal.sessions import client_guard

        return client_guard()
    if not current_user.is_authenticated:
        return login_redirect()
    permission = getattr(view, "permission", None)
    if permission is None or not can(current_user, permission):
        abort(403)
    return None
