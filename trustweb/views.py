"""Helpers shared by the views of every blueprint."""

from flask import abort, current_app, render_template, request

from trustweb.extensions import db


def is_htmx():
    """True for an htmx request that wants a fragment (not a history restore or boosted page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def page_or_partial(page_template, partial_template, **context):
    """The full page for a browser, only the partial for htmx: one URL per resource."""
    return render_template(partial_template if is_htmx() else page_template, **context)


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def paginate(select):
    """A page of results, from ?page=N (anything unusable means the first page)."""
    page = request.args.get("page", 1, type=int)
    if page < 1:
        page = 1
    return db.paginate(select, page=page, per_page=current_app.config["PAGE_SIZE"], error_out=False)


def invalid(template, status=422, **context):
    """Re-show a form that failed validation with a 4xx status."""
    return render_template(template, **context), status
