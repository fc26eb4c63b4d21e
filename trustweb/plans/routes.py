import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from trustweb.auth.permissions import requires
from trustweb.extensions import db
from trustweb.forms import choices, query_id
from trustweb.ledger.money import format_cents, plain_cents
from trustweb.models import (
    Contact,
    Invoice,
    Matter,
    MatterStatus,
    PaymentPlan,
    PlanInstalment,
    SavedMethod,
    TrustRequest,
)
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.models.requests import OUTSTANDING
from trustweb.plans import bp
from trustweb.plans.forms import ENDS, EditPlanForm, PlanForm
from trustweb.services import plans
from trustweb.services.firm import currency_of
from trustweb.services.saved_methods import active_methods
from trustweb.services.trust import firm_today
from trustweb.views import attempt, button_action, get_or_404, invalid


def due(payable):
    return format_cents(payable.due_cents, currency_of(payable.bank_account))


def targets(contact):
    """What a plan for the contact can pay: its sent requests and invoices, and its open matters' funds."""
    found = [("", "Choose what the plan pays…")]
    for trust_request in db.session.scalars(
        select(TrustRequest).where(TrustRequest.contact_id == contact.id, TrustRequest.status.in_(OUTSTANDING))
    ):
        found.append(
            (
                f"request:{trust_request.id}",
                f"{trust_request.number}, {due(trust_request)} due",
            )
        )
    for invoice in db.session.scalars(
        select(Invoice).where(Invoice.contact_id == contact.id, Invoice.status.in_(OPEN_INVOICE))
    ):
        found.append(
            (
                f"invoice:{invoice.id}",
                f"Invoice {invoice.number}, {due(invoice)} due",
            )
        )
    for matter in db.session.scalars(
        select(Matter).where(Matter.client_id == contact.id, Matter.status == MatterStatus.OPEN)
    ):
        found.append((f"matter:{matter.id}", f"Into trust for {matter.number} · {matter.description}"))
    return found


def chosen(value):
    """The Target a form's "target" value names."""
    kind, _, ident = (value or "").partition(":")
    model = {"request": TrustRequest, "invoice": Invoice, "matter": Matter}.get(kind)
    row = db.session.get(model, int(ident)) if model is not None and ident.isdigit() else None
    return plans.Target(**{kind: row}) if row is not None else plans.Target()


def method_choices(form, contact, current=None):
    methods = active_methods(contact)
    if current is not None and current not in methods:
        methods.append(current)
    form.method_id.choices = choices([(m.id, m.label) for m in methods])
    return methods


@bp.route("/new", methods=["GET", "POST"])
@requires("record_deposit")
def create():
    """Set up a plan for a contact; only with a saved method to charge."""
    contact = get_or_404(Contact, query_id("contact_id", "client") or 0)
    form = PlanForm()
    form.target.choices = choices(targets(contact))
    methods = method_choices(form, contact)
    if request.method == "GET":
        form.target.data = request.args.get("target", "")
        form.start_on.data = firm_today()
        form.ends.data = "ongoing" if form.target.data.startswith("matter:") else "paid"
        form.key.data = secrets.token_urlsafe(24)
    if methods and form.validate_on_submit():
        done, plan = attempt(
            form,
            lambda: plans.create(
                contact,
                db.session.get(SavedMethod, form.method_id.data),
                chosen(form.target.data),
                amount_cents=form.amount.cents,
                frequency=form.frequency.data,
                start_on=form.start_on.data,
                ends=form.ends.data,
                payments_total=form.payments_total.data,
                user=current_user,
                key=form.key.data,
            ),
        )
        if done:
            flash(f"Payment plan set up: {plans.describe(plan)}", "success")
            return redirect(url_for("plans.show", plan_id=plan.id), 303)
    context = {"form": form, "contact": contact, "methods": methods, "ends": ENDS, "retry_rule": plans.RETRY_RULE}
    if request.method == "POST":
        return invalid("plans/form.html", **context)
    return render_template("plans/form.html", **context)


def load(plan_id):
    return get_or_404(
        PaymentPlan,
        plan_id,
        joinedload(PaymentPlan.contact),
        joinedload(PaymentPlan.method),
        joinedload(PaymentPlan.request),
        joinedload(PaymentPlan.invoice),
        joinedload(PaymentPlan.matter),
        selectinload(PaymentPlan.instalments).joinedload(PlanInstalment.payment),
    )


@bp.get("/<int:plan_id>")
@requires("view")
def show(plan_id):
    """The plan, its instalments (date, amount, status, receipt or why it failed) and what can be done with it."""
    plan = load(plan_id)
    return render_template("plans/show.html", plan=plan, retry_rule=plans.RETRY_RULE, describe=plans.describe(plan))


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@requires("record_deposit")
def update(plan_id):
    plan = load(plan_id)
    form = EditPlanForm()
    method_choices(form, plan.contact, plan.method)
    if request.method == "GET":
        form.method_id.data, form.frequency.data = plan.method_id, plan.frequency
        form.amount.data, form.start_on.data = plain_cents(plan.amount_cents), plan.next_due_on or firm_today()
    if form.validate_on_submit():
        done, _ = attempt(
            form,
            lambda: plans.edit(
                plan,
                amount_cents=form.amount.cents,
                frequency=form.frequency.data,
                next_due_on=form.start_on.data,
                method=db.session.get(SavedMethod, form.method_id.data),
                user=current_user,
            ),
        )
        if done:
            flash("Payment plan changed.", "success")
            return redirect(url_for("plans.show", plan_id=plan_id), 303)
    if request.method == "POST":
        return invalid("plans/edit.html", form=form, plan=plan)
    return render_template("plans/edit.html", form=form, plan=plan)


def plan_action(plan_id, action, said):
    plan = get_or_404(PaymentPlan, plan_id)
    return button_action(lambda: action(plan, current_user), lambda _: said, url_for("plans.show", plan_id=plan_id))


@bp.post("/<int:plan_id>/pause")
@requires("record_deposit")
def pause(plan_id):
    return plan_action(plan_id, plans.pause, "Payment plan paused: nothing is charged until it is resumed.")


@bp.post("/<int:plan_id>/resume")
@requires("record_deposit")
def resume(plan_id):
    return plan_action(plan_id, plans.resume, "Payment plan resumed.")


@bp.post("/<int:plan_id>/stop")
@requires("record_deposit")
def stop(plan_id):
    return plan_action(plan_id, plans.stop, "Payment plan stopped: nothing more is charged.")
