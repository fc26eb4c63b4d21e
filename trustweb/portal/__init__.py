"""The client portal: a client signs in with an emailed link and sees, pays and downloads what is theirs.

Every view is marked @client (auth/permissions.py): the guard loads the signed-in client from the portal's own
cookie before the view runs, and every query the views make is narrowed to that client's contact
(services/client_account.py), so another client's id is a 404.
"""

from flask import Blueprint

from trustweb.pay import private

bp = Blueprint("portal", __name__, url_prefix="/portal")
bp.after_request(private)

from trustweb.portal import methods, pay_both, routes, sessions, top_ups  # noqa: E402,F401
