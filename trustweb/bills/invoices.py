"""The Bills tab's invoices: list, create, edit, send, print, and apply trust funds (by htmx, in place)."""

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from trustweb.auth.permissions import requires
from trustweb.bills import bp
from trustweb.bills.actions import on_its_way, retry_emails
from trustweb.bills.forms import LINE_ACTIONS, ApplyTrustForm, BatchForm, InvoiceForm, PaymentForm, VoidForm
from trustweb.bills.pages import printed_pay_link
from trustweb.bills.queries import lawyers
from trustweb.extensions import db
from trustweb.forms import choices, query_id
from trustweb.ledger.money import per_currency, plain_cents
from trustweb.models import (
    INVOICE_STATUSES,
    BankAccount,
    Invoice,
    JournalEntry,
    JournalLine,
    Matter,
    MatterStatus,
    OutboxMessage,
)
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.pdf import pdf_response, render_pdf
from trustweb.services import invoice_trust
from trustweb.services import invoices as invoice_service
from trustweb.services import payments as payment_service
from trustweb.services.firm import currency_of
from trustweb.services.trust import firm_today
from trustweb.templating import money, money_totals
from trustweb.views import attempt, button_action, form_page, get_or_404, is_htmx, page_or_partial, paginate

FILTERS = {"open": "Open", **INVOICE_STATUSES, "all": "All"}


@bp.get("/invoices")
@requires("view")
def invoices():
    status = request.args.get("status", "open")
    status = status if status in FILTERS else "open"
    statement = select(Invoice).options(
        selectinload(Invoice.contact),
        selectinload(Invoice.matter),
        # an invoice's currency is its operating account's, where its receivable was booked
        selectinload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account),
    )
    if status == "open":
        statement = statement.where(Invoice.status.in_(OPEN_INVOICE))
    elif status != "all":
        statement = statement.where(Invoice.status == status)
    # Per currency (the operating account's an invoice is owed to): never one figure across two.
    outstanding = db.session.execute(
        select(BankAccount.currency, func.sum(Invoice.total_cents - Invoice.paid_cents))
        .join(JournalEntry, JournalEntry.id == Invoice.receivable_entry_id)
        .join(BankAccount, BankAccount.id == JournalEntry.bank_account_id)
        .where(Invoice.status.in_(OPEN_INVOICE))
        .group_by(BankAccount.currency)
    ).all()
    return page_or_partial(
        "bills/invoices.html",
        "bills/_invoices.html",
        page=paginate(statement.order_by(Invoice.id.desc())),
        status=status,
        statuses=FILTERS,
        outstanding={currency: int(cents) for currency, cents in outstanding if cents},
    )


def invoice_form(invoice=None):
    form = InvoiceForm(formdata=None) if request.method == "GET" else InvoiceForm()
    matters = db.session.execute(
        select(Matter.id, Matter.number, Matter.description)
        .where(Matter.status == MatterStatus.OPEN)
        .order_by(Matter.number)
    ).all()
    form.matter_id.choices = choices(
        [(0, "Choose a matter…")] + [(m.id, f"{m.number} · {m.description}") for m in matters]
    )
    if request.method == "GET":
        if invoice is None:
            form.matter_id.data = query_id("matter_id", "matter") or 0
            form.issued_on.data = firm_today()
            form.lines[0].form.line_date.data = firm_today()
        else:
            form.matter_id.data, form.issued_on.data = invoice.matter_id, invoice.issued_on
            form.due_on.data, form.notes.data = invoice.due_on, invoice.notes
            while form.lines.entries:
                form.lines.pop_entry()
            for line in invoice.lines:
                entry = form.lines.append_entry()
                entry.form.line_date.data, entry.form.description.data = line.line_date, line.description
                entry.form.kind.data = line.kind
                entry.form.quantity.data = f"{line.quantity_hundredths // 100}.{line.quantity_hundredths % 100:02d}"
                entry.form.rate.data = plain_cents(line.rate_cents)
            if not form.lines.entries:
                form.add_line(firm_today())
    return form


def invoice_page(form, invoice, save, success):
    """The invoice form's flow: its line buttons (Add line, Remove, Update total) change the form in place and
    save nothing (htmx: only the lines, or only the total); Save saves (form_page)."""
    # a change in a line (htmx, ?recalc=1) asks for the total as Update total does
    asked = request.form.get("action") or ("total" if request.args.get("recalc") else "")
    action = LINE_ACTIONS.match(asked) if request.method == "POST" else None
    context = {"invoice": invoice, "currency": invoice.currency if invoice else None}
    if action is None:
        return form_page(form, "bills/invoice_form.html", save, success, **context)
    status = 200
    if action.group(1) == "add":
        if form.add_line(firm_today()):
            context["focus"] = len(form.lines.entries) - 1
        else:  # at the limit: the lines come back as they were, saying why
            status = 400
    elif action.group(2) is not None:
        form.remove_line(int(action.group(2)), firm_today())
    if not form.lines_counted():  # a crafted post: the lines beyond the limit are not quietly left out
        status = 400
    if is_htmx():
        partial = "bills/_invoice_total.html" if action.group(1) == "total" else "bills/_invoice_lines.html"
        return render_template(partial, form=form, **context), status
    return render_template("bills/invoice_form.html", form=form, **context), status


def values_of(form):
    matter_id = form.matter_id.data
    return {
        "matter": db.session.get(Matter, matter_id) if matter_id else None,
        "issued_on": form.issued_on.data,
        "due_on": form.due_on.data,
        "notes": form.text("notes"),
        "lines": form.line_values(),
    }


def saved(message):
    return lambda invoice: (message.format(invoice=invoice), url_for("bills.show_invoice", invoice_id=invoice.id))


@bp.route("/invoices/new", methods=["GET", "POST"])
@requires("manage_requests")
def create_invoice():
    form = invoice_form()
    return invoice_page(
        form,
        None,
        lambda: invoice_service.create_invoice(values_of(form), current_user),
        saved("Invoice {invoice.number} saved as a draft."),
    )


@bp.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
@requires("manage_requests")
def update_invoice(invoice_id):
    invoice = get_or_404(Invoice, invoice_id)
    form = invoice_form(invoice)
    return invoice_page(
        form,
        invoice,
        lambda: invoice_service.update_invoice(invoice, values_of(form), current_user),
        saved("Invoice {invoice.number} saved."),
    )


def invoice_payment_form(invoice):
    form = PaymentForm(formdata=None, prefix="payment")  # beside the apply form: its own field names and ids
    form.key.data = secrets.token_urlsafe(24)
    form.received_on.data = firm_today()
    form.payer.data = invoice.contact.name
    form.amount.data = plain_cents(invoice.due_cents) if invoice.due_cents else ""
    return form


def panel_context(invoice, form=None, message=None, payment_form=None):
    account = invoice_trust.trust_account_for(invoice)
    if form is None:
        form = ApplyTrustForm(formdata=None)
        form.key.data = secrets.token_urlsafe(24)
        available = invoice_trust.available_for(invoice, account)
        form.amount.data = plain_cents(available) if available else ""
    matter_ledger = invoice_trust.trust_ledger(invoice, account, False)
    client_ledger = invoice_trust.trust_ledger(invoice, account, True)
    lines = []
    if matter_ledger is not None:
        lines = db.session.scalars(
            select(JournalLine)
            .where(JournalLine.ledger_account_id == matter_ledger.id)
            .options(selectinload(JournalLine.entry), selectinload(JournalLine.ledger_account))
            .order_by(JournalLine.id.desc())
            .limit(5)
        ).all()
    return {
        "invoice": invoice,
        "account": account,
        "ledger_lines": lines,
        "payment_form": payment_form or invoice_payment_form(invoice),
        "apply_form": form,
        "matter_ledger": matter_ledger,
        "client_ledger": client_ledger,
        "message": message,
    }


@bp.get("/invoices/<int:invoice_id>")
@requires("view")
def show_invoice(invoice_id):
    invoice = get_or_404(Invoice, invoice_id)
    outbox = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.invoice_id == invoice.id).order_by(OutboxMessage.id.desc())
    ).all()
    return render_template("bills/invoice.html", outbox=outbox, **panel_context(invoice))


@bp.post("/invoices/<int:invoice_id>/send")
@requires("manage_requests")
def send_invoice(invoice_id):
    """Email the invoice (again) with a fresh pay link, through the outbox."""
    invoice = get_or_404(Invoice, invoice_id)
    return button_action(
        lambda: invoice_service.send_invoice(invoice, current_user),
        lambda sent: on_its_way(sent.number, sent.recipient_list),
        url_for("bills.show_invoice", invoice_id=invoice.id),
    )


@bp.post("/invoices/<int:invoice_id>/resend")
@requires("manage_requests")
def resend_invoice_emails(invoice_id):
    """Try the invoice's waiting emails again now."""
    return retry_emails(get_or_404(Invoice, invoice_id))


@bp.post("/invoices/<int:invoice_id>/void")
@requires("void_requests")
def void_invoice(invoice_id):
    invoice = get_or_404(Invoice, invoice_id)
    form = VoidForm()
    if not form.validate_on_submit():
        flash("Say why the invoice is void.", "error")
        return redirect(url_for("bills.show_invoice", invoice_id=invoice.id), 303)
    return button_action(
        lambda: invoice_service.void_invoice(invoice, form.reason.data, current_user),
        lambda voided: f"{voided.number} is void.",
        url_for("bills.show_invoice", invoice_id=invoice.id),
    )


@bp.post("/invoices/<int:invoice_id>/apply-trust")
@requires("disburse_trust")
def apply_trust(invoice_id):
    """Pay the invoice from the client's trust; htmx swaps the invoice panel in place."""
    invoice = get_or_404(Invoice, invoice_id)
    form = ApplyTrustForm()
    account = invoice_trust.trust_account_for(invoice)
    if form.validate_on_submit():
        done, application = attempt(
            form,
            lambda: invoice_trust.apply_trust(
                invoice,
                form.amount.cents,
                account=account,
                from_client_funds=form.source.data == "client",
                idempotency_key=form.key.data,
                user=current_user,
            ),
        )
        if done:
            db.session.refresh(invoice)
            message = f"{money(application.amount_cents, invoice.currency)} applied from trust to {invoice.number}."
            context = panel_context(invoice, message=message)
            if is_htmx():
                return render_template("bills/_invoice_panel.html", **context)
            return render_template("bills/invoice.html", **context)
    context = panel_context(invoice, form=form)
    template = "bills/_invoice_panel.html" if is_htmx() else "bills/invoice.html"
    return render_template(template, **context), 422


@bp.post("/invoices/<int:invoice_id>/payments")
@requires("record_deposit")
def record_invoice_payment(invoice_id):
    """A cheque, wire or cash payment of the invoice, into operating; htmx swaps the panel in place."""
    invoice = get_or_404(Invoice, invoice_id)
    form = PaymentForm(prefix="payment")
    message, status = None, 422
    if form.validate_on_submit():
        done, payment = attempt(
            form,
            lambda: payment_service.record_manual_payment(invoice, **form.values(), user=current_user),
        )
        if done:
            db.session.refresh(invoice)
            message, status, form = (
                f"Payment {payment.receipt_number} of {money(payment.amount_cents, payment.currency)} recorded.",
                200,
                None,
            )
    context = panel_context(invoice, message=message, payment_form=form)
    template = "bills/_invoice_panel.html" if is_htmx() else "bills/invoice.html"
    return render_template(template, oob=is_htmx(), **context), status


@bp.get("/invoices/<int:invoice_id>/print")
@requires("view")
def print_invoice(invoice_id):
    """The printable invoice; a sent one with a fresh pay link's QR code."""
    invoice = get_or_404(Invoice, invoice_id)
    return render_template("bills/invoice_print.html", invoice=invoice, pay_url=printed_pay_link(invoice))


@bp.get("/invoices/<int:invoice_id>/pdf")
@requires("view")
def invoice_pdf(invoice_id):
    """The printable invoice as a PDF, named for its number."""
    invoice = get_or_404(Invoice, invoice_id, selectinload(Invoice.lines))
    pdf = render_pdf("bills/invoice_print.html", invoice=invoice, pay_url=printed_pay_link(invoice))
    return pdf_response(pdf, invoice.number)


def plan_total(plan):
    """What a batch would take from trust, per currency (each invoice's): never one figure across two."""
    return per_currency((currency_of(invoice.bank_account), amount) for invoice, _, amount, _ in plan if amount)


@bp.get("/invoices/batch")
@requires("disburse_trust")
def batch_preview():
    """Pay outstanding invoices from trust: first what would be paid from where."""
    lawyer_id = query_id("lawyer", "lawyer")
    plan = invoice_trust.batch_plan(lawyer_id)
    return render_template(
        "bills/invoice_batch.html",
        plan=plan,
        digest=invoice_trust.plan_digest(plan),
        batch_key=secrets.token_urlsafe(24),
        lawyer_id=lawyer_id,
        lawyers=lawyers(),
        total=plan_total(plan),
        form=BatchForm(formdata=None),
    )


@bp.post("/invoices/batch")
@requires("disburse_trust")
def batch_apply():
    """Apply exactly the plan that was previewed, or nothing."""
    form = BatchForm()
    lawyer_id = form.lawyer.data
    if form.validate_on_submit():
        done, applied = attempt(
            form, lambda: invoice_trust.run_batch(lawyer_id, form.digest.data, form.key.data, current_user)
        )
        if done:
            total = money_totals(per_currency((a.bank_account.currency, a.amount_cents) for a in applied))
            flash(f"{len(applied)} invoice(s) paid from trust, {total} in all.", "success")
            return redirect(url_for("bills.invoices"), 303)
    form.form_errors.extend(form.lawyer.errors)  # a hidden field: its reason goes at the top
    plan = invoice_trust.batch_plan(lawyer_id)
    return render_template(
        "bills/invoice_batch.html",
        plan=plan,
        digest=invoice_trust.plan_digest(plan),
        batch_key=secrets.token_urlsafe(24),
        lawyer_id=lawyer_id,
        lawyers=lawyers(),
        total=plan_total(plan),
        form=form,
    ), 409
