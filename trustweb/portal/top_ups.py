"""Automatic top-ups in the portal: on a matter's balance, the client authorises the firm to charge a saved method
when the matter falls below its agreed minimum (the words agreed to are recorded), or turns it off."""

from flask import abort, flash, redirect, render_template, request, url_for
from wtforms import BooleanField
from wtforms.validators import DataRequired

from trustweb.auth.permissions import client
from trustweb.extensions import client_address, db
from trustweb.forms import BaseForm, IdSelectField, choices
from trustweb.models import SavedMethod
from trustweb.portal import bp
from trustweb.portal.sessions import current_client
from trustweb.refusals import REFUSALS
from trustweb.services import client_account, top_ups
from trustweb.services.replenishment import account_of


class TopUpForm(BaseForm):
    method_id = IdSelectField("Charge", validators=[DataRequired("Choose the card or account to charge.")])
    agree = BooleanField("I agree", validators=[DataRequired("Tick the box to agree to the words above.")])


def matter_of(ledger_id):
    """The client's own matter whose balance this ledger is (404 for anyone else's)."""
    ledger = client_account.own_ledger(current_client(), ledger_id)
    if ledger is None or ledger.matter is None:
        abort(404)
    return ledger, ledger.matter


def top_up_form(matter):
    """The form, its choices the client's methods that can pay the matter's top-up."""
    form = TopUpForm()
    methods = top_ups.methods_for(matter, current_client()) if matter.evergreen_minimum_cents is not None else []
    form.method_id.choices = choices([(m.id, m.label) for m in methods])
    return form, methods


def page(ledger, matter, form, methods, status=200):
    consents = {m.id: top_ups.consent_text(matter, m) for m in methods}
    account = account_of(matter)
    return render_template(
        "portal/top_ups.html",
        ledger=ledger,
        matter=matter,
        form=form,
        methods=methods,
        consents=consents,
        account=account,
    ), status


@bp.route("/ledgers/<int:ledger_id>/top-ups", methods=["GET", "POST"])
@client
def top_up(ledger_id):
    """The client's automatic top-up of one matter: what it would do, from which method, and their agreement."""
    ledger, matter = matter_of(ledger_id)
    form, methods = top_up_form(matter)
    if request.method == "GET":
        return page(ledger, matter, form, methods)
    if matter.evergreen_minimum_cents is None:
        flash(f"{matter.number} has no agreed minimum balance, so there is nothing to top up automatically.", "error")
        return redirect(url_for("portal.top_up", ledger_id=ledger_id), 303)
    if form.validate_on_submit():
        try:
            top_ups.authorise(
                current_client(), matter, db.session.get(SavedMethod, form.method_id.data), ip=client_address()
            )
        except REFUSALS as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(f"{matter.number} now tops up automatically; you are emailed a receipt each time.", "success")
            return redirect(url_for("portal.top_up", ledger_id=ledger_id), 303)
    return page(ledger, matter, form, methods, 422)


@bp.post("/ledgers/<int:ledger_id>/top-ups/stop")
@client
def stop_top_up(ledger_id):
    ledger, matter = matter_of(ledger_id)
    try:
        top_ups.turn_off(matter, contact=current_client())
    except REFUSALS as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(f"{matter.number} no longer tops up automatically.", "success")
    return redirect(url_for("portal.top_up", ledger_id=ledger_id), 303)
