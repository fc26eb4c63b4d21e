"""Error pages: a full page for browsers, a message fragment for htmx."""

from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from trustweb.extensions import db
from trustweb.views import BadAddress, is_htmx

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "Your role does not allow this. Ask an administrator if you need access."),
    404: ("Not found", "There is nothing at this address. It may have been removed, or the link is wrong."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    429: ("Too many attempts", "Too many requests in a short time. Please wait a minute and try again."),
    500: ("Something went wrong", "The server hit an error and nothing was changed. Please try again."),
}


def render_error(status, title, message):
    if is_htmx():
        response = render_template("errors/_error.html", status=status, title=title, message=message), status
        # Show the message in the flash area rather than inside whatever the request targeted.
        return response[0], status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    # A client sees the portal's own page, never the staff layout: also at a portal address that matched no route.
    if request.blueprint == "portal" or request.path.startswith("/portal/"):
        return render_template("portal/error.html", status=status, title=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_http_error(error):
    status = error.code or 500
    title, message = MESSAGES.get(status, (error.name, error.description))
    if isinstance(error, BadAddress):
        message = error.description
    return render_error(status, title, message)


def handle_too_large(error):
    """An upload over MAX_CONTENT_LENGTH, refused before its body was read."""
    cap = current_app.config["MAX_CONTENT_LENGTH"]
    limit = f"{cap // 2**20} MB" if cap and cap >= 2**20 else "the limit"
    advice = (
        "A logo needs far less: export it smaller, as PNG or JPEG."
        if request.endpoint == "settings.logo"
        else "A bank statement that large is better imported one month at a time."
    )
    message = f"What you sent is larger than {limit}, the most this server accepts, so none of it was read. {advice}"
    return render_error(413, "Too large", message)


def handle_csrf_error(error):
    return render_error(
        400, "Form expired", "This form was open too long or came from elsewhere. Reload the page and try again."
    )


def handle_server_error(error):
    db.session.rollback()
    title, message = MESSAGES[500]
    return render_error(500, title, message)


def register(app):
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(RequestEntityTooLarge, handle_too_large)
    app.register_error_handler(HTTPException, handle_http_error)
