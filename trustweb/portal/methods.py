"""The client's saved payment methods in the portal: see them, add a card, remove one."""

from flask import abort, flash, redirect, render_template, request, url_for

from trustweb.auth.permissions import client
from trustweb.database import write_transaction
from trustweb.extensions import client_address, db, limiter
from trustweb.models import Contact
from trustweb.pay.forms import CardForm
from trustweb.payments import Declined
from trustweb.portal import bp
from trustweb.portal.forms import ButtonForm
from trustweb.portal.sessions import current_client
from trustweb.refusals import ServiceError
from trustweb.services import client_account, method_setup, saved_methods
from trustweb.services.portal import client_actor
from trustweb.urls import external_url


def methods_page(form=None, status=200, error=None):
    contact = current_client()
    processor = method_setup.saving_processor()
    if processor is not None and not processor.hosted:
        form = (form or CardForm(formdata=None)).forget_card()
    shown = {
        "methods": saved_methods.active_methods(contact),
        "processor": processor,
        "form": form,
        "error": error,
        "consent": method_setup.consent_text(),
    }
    return render_template("portal/methods.html", **shown), status


@bp.get("/methods")
@client
def methods():
    """The client's saved cards and bank accounts, and a way to add one."""
    return methods_page()


@bp.post("/methods")
@limiter.limit("20 per minute")
@client
def add_method():
    """Save a card typed on our form (test processor), or go to the processor's page to save one there."""
    contact = current_client()
    processor = method_setup.saving_processor()
    form = CardForm() if processor is not None and not processor.hosted else None
    try:
        if processor is None:
            raise ServiceError(method_setup.NOT_AVAILABLE)
        if processor.hosted:
            if not ButtonForm().validate_on_submit():
                abort(400)
            url = method_setup.start_setup(
                contact,
                return_url=external_url("portal.method_returned"),
                cancel_url=external_url("portal.methods"),
                consent_ip=client_address(),
                actor=client_actor(contact),
            )
            return redirect(url, 303)
        assert form is not None
        if not form.validate_on_submit():
            return methods_page(form, 422)
        method = method_setup.save_card(contact, form.card(), consent_ip=client_address(), actor=client_actor(contact))
    except (Declined, ServiceError) as error:
        db.session.rollback()
        return methods_page(form, 422, str(error))
    flash(f"{method.label} is saved.", "success")
    return redirect(url_for("portal.methods"), 303)


@bp.get("/methods/return")
@client
def method_returned():
    """Back from the processor's page: record what it saved (unless its webhook already did)."""
    contact_id = current_client().id
    try:
        state = method_setup.read_setup(method_setup.saving_account(), request.args.get("session_id", ""))
        with write_transaction():
            method = method_setup.record_setup(state, db.session.get(Contact, contact_id))
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("portal.methods"), 303)
    if method is not None:
        flash(f"{method.label} is saved.", "success")
    return redirect(url_for("portal.methods"), 303)


@bp.post("/methods/<int:method_id>/remove")
@limiter.limit("20 per minute")
@client
def remove_method(method_id):
    """The client removes one of their own methods: forgotten at the processor too; audited as theirs."""
    contact = current_client()
    method = client_account.own_method(contact, method_id)
    if method is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        saved_methods.remove(method, user=None, actor=client_actor(contact))
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(f"{method.label} is removed.", "success")
    return redirect(url_for("portal.methods"), 303)
