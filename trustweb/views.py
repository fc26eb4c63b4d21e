"""Helpers shared by the views of every blueprint."""

from flask import abort, current_app, flash, redirect, render_template, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from trustweb.extensions import db
from trustweb.refusals import REFUSALS
from trustweb.text import printable

# Said when the database refuses a write because someone else's change got there first.
CONFLICT = "Someone else changed this at the same moment. Reload the page and try again."


def is_htmx():
    """True for an htmx request that wants a fragment (not a history restore or boosted page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def search_text(name="q", limit=100):
    """A search box's text, without control characters (PostgreSQL refuses NUL), at most `limit` long."""
    return printable(request.args.get(name, ""), limit)


def contains(column, text):
    """column ILIKE '%text%', with the text's own % and _ taken literally. On SQLite a plain LIKE: it ignores case
    already (ASCII case, the only one SQLite's lower() knows too), and ilike's lower() of every value doubled the
    time of a search."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if db.engine.dialect.name == "sqlite":
        return column.like(f"%{escaped}%", escape="\\")
    return column.ilike(f"%{escaped}%", escape="\\")


def page_or_partial(page_template, partial_template, **context):
    """The full page for a browser, only the partial for htmx: one URL per resource."""
    return render_template(partial_template if is_htmx() else page_template, **context)


# Ids and page numbers beyond these are not ours; the databases would refuse them with an error.
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000


class BadAddress(BadRequest):
    """A 400 for a query string no page of ours makes; its description is written for the person and shown."""


class IdConverter(IntegerConverter):
    """<int:...> in every route: an id, 1 up to MAX_ID; an address with any other number is a 404 before a view
    runs. create_app puts it in place of Werkzeug's own int converter."""

    def __init__(self, url_map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            # Not Werkzeug's "no match": when the same address takes another method, that would be a 405.
            raise NotFound() from None


def get_or_404(model, ident, *options):
    """The row by its id, with what the page shows of it loaded along (options such as joinedload), or a 404."""
    if not 0 < ident <= MAX_ID:
        abort(404)
    obj = db.session.get(model, ident, options=options)
    if obj is None:
        abort(404)
    return obj


def paginate(select, per_page=None, total=None):
    """A page of results, from ?page=N (anything unusable means the first page).

    A view that has already counted the rows (with its totals) gives `total`, and the pager does not count again.
    """
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        page = 1
    per_page = per_page or current_app.config["PAGE_SIZE"]
    pagination = db.paginate(select, page=page, per_page=per_page, error_out=False, count=total is None)
    if total is not None:
        pagination.total = total
    return pagination


def invalid(template, status=422, **context):
    """Re-show a form that failed validation with a 4xx status."""
    return render_template(template, **context), status


def attempt(form, action):
    """(True, result) when the action succeeds; (False, None) with the reason added to the form when refused."""
    try:
        return True, action()
    except REFUSALS as error:
        db.session.rollback()
        form.form_errors.append(str(error))
    except IntegrityError:
        db.session.rollback()
        form.form_errors.append(CONFLICT)
    return False, None


def form_page(form, template, save, success, **context):
    """The flow of every edit page.

    GET shows the form. A valid POST calls save(); when the service refuses
    (ServiceError) the form is shown again with the reason, otherwise
    success(result) gives (message, url) and the browser is redirected there.
    Bad input or a refusal answers 422 so that nothing looks saved.
    """
    if form.validate_on_submit():
        done, result = attempt(form, save)
        if done:
            message, url = success(result)
            flash(message, "success")
            return redirect(url, 303)
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


def button_action(action, success, back_to):
    """The flow of a one-click POST (enable, close, make default...).

    Runs action(); flashes success(result), or the service's reason for
    refusing, and redirects back to the page the button was on. success may
    answer (message, category) for an outcome that is done but not whole
    ("approved but not sent"), to be flashed as a warning.
    """
    try:
        result = action()
    except REFUSALS as error:
        db.session.rollback()
        flash(str(error), "error")
    except IntegrityError:
        db.session.rollback()
        flash(CONFLICT, "error")
    else:
        said = success(result)
        message, category = said if isinstance(said, tuple) else (said, "success")
        flash(message, category)
    return redirect(back_to, 303)
