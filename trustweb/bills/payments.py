"""The Bills tab's payments: every payment received for a trust request or an invoice, filtered by htmx; refunds."""

from datetime import date

from flask import abort, flash, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from trustweb.auth.permissions import requires
from trustweb.bills import bp
from trustweb.bills.forms import RefundForm
from trustweb.bills.pages import back_to
from trustweb.extensions import db
from trustweb.forms import query_date
from trustweb.models import PAYMENT_STATUSES, BankAccount, Invoice, Payment, TrustRequest
from trustweb.models.payments import RECEIVED
from trustweb.pay import receipts
from trustweb.services import refunds
from trustweb.services.trust import METHODS
from trustweb.templating import money
from trustweb.views import attempt, get_or_404, page_or_partial, paginate

PROCESSORS = {"test": "Test", "stripe": "Stripe", "manual": "Recorded by hand"}


def payment_filters():
    args = request.args
    filters = {
        "status": args.get("status") if args.get("status") in PAYMENT_STATUSES else None,
        "method": args.get("method") if args.get("method") in METHODS else None,
        "processor": args.get("processor") if args.get("processor") in PROCESSORS else None,
        "from": query_date("from"),
        "to": query_date("to"),
    }
    return {key: value for key, value in filters.items() if value is not None}


def filtered_payments(filters):
    statement = select(Payment).options(
        selectinload(Payment.request).selectinload(TrustRequest.contact),
        selectinload(Payment.invoice).selectinload(Invoice.contact),
    )
    for column in ("status", "method", "processor"):
        if column in filters:
            statement = statement.where(getattr(Payment, column) == filters[column])
    if "from" in filters:
        statement = statement.where(Payment.received_on >= filters["from"])
    if "to" in filters:
        statement = statement.where(Payment.received_on <= filters["to"])
    return statement


@bp.get("/payments")
@requires("view")
def payments():
    """Payments received, newest first, with what came in and what the processors kept."""
    filters = payment_filters()
    statement = filtered_payments(filters)
    # Summed per account (whose rows this loads, so the page's payments find theirs without a query each), then
    # per currency: never one figure across two.
    counted = Payment.status.in_(RECEIVED)
    received = (
        statement.with_only_columns(
            BankAccount,
            func.count(case((counted, 1))),
            func.coalesce(func.sum(case((counted, Payment.amount_cents), else_=0)), 0),
            func.coalesce(func.sum(case((counted, Payment.fee_cents), else_=0)), 0),
        )
        .join(BankAccount, BankAccount.id == Payment.bank_account_id)
        .group_by(BankAccount.id)
    )
    # The accounts are kept with the totals: the session holds loaded rows only while something refers to them.
    count, gross, fees, accounts = 0, {}, {}, []
    for account, n, gross_cents, fee_cents in db.session.execute(received):
        accounts.append(account)
        if not n:
            continue
        count += n
        gross[account.currency] = gross.get(account.currency, 0) + int(gross_cents)
        fees[account.currency] = fees.get(account.currency, 0) + int(fee_cents)
    return page_or_partial(
        "bills/payments.html",
        "bills/_payments.html",
        page=paginate(statement.order_by(Payment.id.desc())),
        filters=filters,
        args={key: value.isoformat() if isinstance(value, date) else value for key, value in filters.items()},
        totals={"count": count, "gross": gross, "fees": fees, "accounts": accounts},
        statuses=PAYMENT_STATUSES,
        methods=METHODS,
        processors=PROCESSORS,
    )


@bp.get("/payments/<int:payment_id>")
@requires("view")
def show_payment(payment_id):
    """One payment as staff see it: the receipt, and who took it."""
    payment = get_or_404(Payment, payment_id, joinedload(Payment.created_by))
    shown = {"payment": payment, "payable": payment.payable, "methods": METHODS, "processors": PROCESSORS}
    return render_template("bills/payment.html", **shown)


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@requires("view")
def receipt_pdf(payment_id):
    """A payment's receipt as a PDF, the same the client downloads from the pay link."""
    payment = get_or_404(Payment, payment_id)
    if payment.receipt_number is None:  # pending or failed: nothing was received to give a receipt for
        abort(404)
    return receipts.receipt_pdf(payment)


@bp.post("/payments/<int:payment_id>/refund")
@requires("disburse_trust")
def refund(payment_id):
    """Give back all or part of a payment: through Stripe, or recorded as made another way."""
    payment = get_or_404(Payment, payment_id)
    form = RefundForm()
    back = back_to(payment.payable)
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors) or "Check the refund.", "error")
        return redirect(back, 303)
    done, _ = attempt(
        form,
        lambda: refunds.refund_payment(
            payment,
            form.amount.cents,
            online=form.online.data,
            reason=form.reason.data,
            user=current_user,
            idempotency_key=form.key.data,
        ),
    )
    if done:
        flash(f"{money(form.amount.cents, payment.currency)} of {payment.receipt_number} refunded.", "success")
    else:
        flash(" ".join(form.form_errors), "error")
    return redirect(back, 303)
