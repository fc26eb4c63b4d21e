from dataclasses import dataclass

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError

from trustweb.auth.permissions import client, public
from trustweb.database import write_transaction
from trustweb.extensions import client_address, limiter
from trustweb.models import FirmLogo
from trustweb.pay import receipts
from trustweb.pdf import pdf_response, render_pdf
from trustweb.portal import bp
from trustweb.portal.forms import ButtonForm, SignInForm, StatementForm
from trustweb.portal.sessions import begin, clear_cookie, current_client, session_token
from trustweb.refusals import ServiceError
from trustweb.reports.export import csv_response
from trustweb.services import client_account, combined_checkout
from trustweb.services import portal as portal_service
from trustweb.services.plans import current_plans, describe
from trustweb.services.reports import Filters
from trustweb.services.sessions import normalise_email
from trustweb.services.trust import firm_today
from trustweb.views import invalid


def client_key():
    """A signed-in client's documents are limited per client, from wherever they ask."""
    client = current_client()
    return f"portal-client:{client.id if client is not None else 'none'}"


# What one client may read in a minute: a statement or a PDF lays out every line asked for.
PAGES_PER_MINUTE = "60 per minute"
PDFS_PER_MINUTE = "20 per minute"
# A statement on screen shows this many lines a page, so a long history costs the page no more than a short one
# (the PDF and the CSV hold the whole period).
LINES_PER_PAGE = 200
# The most lines a statement's PDF lays out (about 10 ms each): a longer period is asked for in parts, or as CSV.
MAX_PDF_LINES = 300


def email_key():
    """Sign-in links asked for one address, whoever asks: a flood of emails to one client is refused too."""
    return "portal-sign-in:" + normalise_email(request.form.get("email", ""))[:254]


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=email_key)
@public
def sign_in():
    """The client asks for a sign-in link; the answer is the same whether the address is a client's or not."""
    if current_client() is not None:
        return redirect(url_for("portal.home"))
    form = SignInForm()
    if form.validate_on_submit():
        portal_service.request_sign_in(form.email.data)
        return render_template("portal/sent.html", email=form.email.data)
    if request.method == "POST":
        return invalid("portal/sign_in.html", form=form)
    return render_template("portal/sign_in.html", form=form)


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
@public
def confirm(token):
    """The emailed link: a button signs in, so a mail scanner that opens links does not use it up."""
    link = portal_service.link_for_token(token)
    if link is None:
        return render_template("portal/link_invalid.html", form=SignInForm(formdata=None)), 404
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template("portal/confirm.html", form=form, link=link)
    try:
        contact, token = portal_service.sign_in(
            token, client_address(), request.headers.get("User-Agent"), replacing=session_token()
        )
    except ServiceError:
        return render_template("portal/link_invalid.html", form=SignInForm(formdata=None)), 404
    return begin(redirect(url_for("portal.home"), 303), contact, token)


@bp.post("/sign-out")
@client
def sign_out():
    token = session_token()
    if token:
        portal_service.sign_out(token)
    g.portal_signed_out = True
    flash("You are signed out.", "info")
    return clear_cookie(redirect(url_for("portal.sign_in"), 303))


@bp.get("/")
@client
def home():
    """What the client has open to pay, and what the firm holds in trust for them."""
    home = client_account.home(current_client())
    together = combined_checkout.first_pair(home.invoices, home.requests)
    plans = current_plans(current_client())
    return render_template(
        "portal/home.html", home=home, together=together, today=firm_today(), plans=plans, plan_text=describe
    )


@bp.get("/documents")
@client
def documents():
    """Every request, invoice and receipt the client has had, to read or download."""
    return render_template("portal/documents.html", docs=client_account.documents(current_client()))


@bp.get("/ledgers/<int:ledger_id>")
@limiter.limit(PAGES_PER_MINUTE, key_func=client_key)
@client
def statement(ledger_id):
    """A trust statement of one matter (or of funds held without a matter) over a date range; ?format=csv."""
    ledger, form = chosen_statement(ledger_id)
    if request.args.get("format") == "csv":
        # Recorded first: the file is streamed after the view returns, from rows read after this write.
        record_view(ledger, "statement CSV")
        report = client_account.statement(ledger, form.date_from.data, form.date_to.data, firm_today())
        filters = Filters(
            date_from=form.date_from.data,
            date_to=form.date_to.data,
            account=ledger.bank_account,
            matter=ledger.matter,
            contact=ledger.contact if ledger.matter is None else None,
        )
        return csv_response(report, filters, f"trust-statement-{ledger.id}-{firm_today().isoformat()}.csv")
    report = client_account.statement(ledger, form.date_from.data, form.date_to.data, firm_today())
    lines = page_of(report.rows)
    shown = render_template("portal/statement.html", ledger=ledger, form=form, report=report, lines=lines)
    record_view(ledger, "statement")
    return shown


@dataclass
class Lines:
    """One page of a statement's lines; the newest page unless another is asked for (?page=N)."""

    rows: list
    page: int
    pages: int
    total: int
    first: int  # the number of the page's first line, counted from 1


def page_of(rows):
    rows = list(rows)
    pages = max(1, -(-len(rows) // LINES_PER_PAGE))
    page = request.args.get("page", pages, type=int)
    page = page if 1 <= page <= pages else pages
    start = (page - 1) * LINES_PER_PAGE
    return Lines(rows[start : start + LINES_PER_PAGE], page, pages, len(rows), start + 1)


def chosen_statement(ledger_id):
    """The client's own ledger and the dates asked for; else a 404, or the page saying what is wrong (400)."""
    ledger = found(client_account.own_ledger(current_client(), ledger_id))
    form = StatementForm(request.args)
    if not form.validate():
        abort(make_response(render_template("portal/statement.html", ledger=ledger, form=form, report=None), 400))
    return ledger, form


@bp.get("/ledgers/<int:ledger_id>.pdf")
@limiter.limit(PDFS_PER_MINUTE, key_func=client_key)
@client
def statement_pdf(ledger_id):
    """The trust statement over the dates asked for, as a PDF."""
    ledger, form = chosen_statement(ledger_id)
    today = firm_today()
    report = client_account.statement(ledger, form.date_from.data, form.date_to.data, today)
    if len(report.rows) > MAX_PDF_LINES:
        error = (
            f"These dates hold {len(report.rows):,} lines, more than one PDF takes ({MAX_PDF_LINES}). "
            "Choose a shorter period, or download the CSV."
        )
        shown = {"ledger": ledger, "form": form, "report": report, "lines": page_of(report.rows), "error": error}
        return render_template("portal/statement.html", **shown), 422
    context = {"ledger": ledger, "report": report, "date_from": form.date_from.data, "date_to": form.date_to.data}
    pdf = render_pdf("portal/statement_print.html", today=today, **context)
    record_view(ledger, "statement PDF")
    return pdf_response(pdf, f"trust-statement-{today.isoformat()}")


@bp.get("/requests/<int:request_id>.pdf")
@limiter.limit(PDFS_PER_MINUTE, key_func=client_key)
@client
def request_pdf(request_id):
    trust_request = found(client_account.own_request(current_client(), request_id))
    return document_pdf(trust_request, "bills/request_print.html", trust_request=trust_request)


@bp.get("/invoices/<int:invoice_id>.pdf")
@limiter.limit(PDFS_PER_MINUTE, key_func=client_key)
@client
def invoice_pdf(invoice_id):
    invoice = found(client_account.own_invoice(current_client(), invoice_id))
    return document_pdf(invoice, "bills/invoice_print.html", invoice=invoice)


def document_pdf(payable, template, **context):
    """A request or invoice as the letter staff print, downloaded as a PDF named for its number, and audited."""
    pdf = render_pdf(template, **context)
    record_view(payable, f"{'invoice' if payable.is_invoice else 'request'} PDF")
    return pdf_response(pdf, payable.number)


@bp.get("/receipts/<int:payment_id>.pdf")
@limiter.limit(PDFS_PER_MINUTE, key_func=client_key)
@client
def receipt_pdf(payment_id):
    payment = found(client_account.own_payment(current_client(), payment_id))
    response = receipts.receipt_pdf(payment)
    record_view(payment, "receipt PDF")
    return response


def found(row):
    if row is None:
        abort(404)
    return row


@bp.post("/requests/<int:request_id>/pay")
@limiter.limit("20 per minute")
@client
def pay_request(request_id):
    return pay(client_account.own_request(current_client(), request_id))


@bp.post("/invoices/<int:invoice_id>/pay")
@limiter.limit("20 per minute")
@client
def pay_invoice(invoice_id):
    return pay(client_account.own_invoice(current_client(), invoice_id))


def pay(payable):
    """To the pay page of one of the client's own requests or invoices, through a link made for this visit."""
    if payable is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        path = client_account.pay_link(current_client(), payable)
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("portal.home"), 303)
    return redirect(path, 303)


def record_view(obj, what):
    """A document view goes in the audit trail, in a short write of its own after the page is made; if the
    database is too busy for it, the client still gets the page."""
    contact_id = current_client().id
    try:
        with write_transaction():
            client_account.viewed(current_client(), obj, what)
    except OperationalError:
        current_app.logger.warning("portal: client %s's view of %s could not be recorded", contact_id, what)


@bp.get("/logo")
@public
def logo():
    """The firm's logo, for the portal's pages (cached: its address changes with the image)."""
    image = FirmLogo.get()
    if image is None:
        abort(404)
    response = current_app.response_class(image.data, mimetype=image.content_type)
    response.set_etag(image.sha256)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response.make_conditional(request)


@bp.context_processor
def portal_context():
    return {"portal_client": current_client()}
