"""The emailed link's page: public (the token is the key), for its own contact only, used once, for a week.

With the test processor the client types a card on our form; with Stripe they go to Stripe's setup page and
come back. Either way the consent sentence is shown beside the button and kept as shown.
"""

from flask import abort, redirect, render_template, request, url_for

from trustweb.auth.permissions import public
from trustweb.database import write_transaction
from trustweb.extensions import client_address, db, limiter
from trustweb.methods import bp
from trustweb.models import Contact
from trustweb.pay.forms import CardForm
from trustweb.payments import Declined
from trustweb.refusals import ServiceError
from trustweb.services import method_setup
from trustweb.services.portal import client_actor
from trustweb.urls import external_url

CLOSED = {
    "unknown": (404, "This link is not valid", "Check that the whole link was copied from the email."),
    "used": (410, "This link has already been used", method_setup.LINK_USED),
    "expired": (410, "This link has expired", method_setup.LINK_EXPIRED),
}


def closed_page(state):
    status, title, hint = CLOSED[state]
    return render_template("pay/closed.html", title=title, hint=hint, link=None), status


def open_link(token):
    """(the link, None) while it can save a method; else (None, the page that says why)."""
    link = method_setup.link_for_token(token)
    state = method_setup.link_state(link)
    return (link, None) if state == "open" else (None, closed_page(state))


def page(token, link, form=None, status=200, error=None):
    processor = method_setup.saving_processor()
    shown = {"token": token, "link": link, "processor": processor, "form": form, "error": error}
    if processor is not None and not processor.hosted:
        shown["form"] = (form or CardForm(formdata=None)).forget_card()
    return render_template("methods/show.html", consent=method_setup.consent_text(), **shown), status


@bp.get("/<token>")
@limiter.limit("60 per minute")
@public
def show(token):
    """Who asks, the consent, and the card form (or the button to Stripe's page)."""
    link, closed = open_link(token)
    return closed or page(token, link)


@bp.post("/<token>")
@limiter.limit("20 per minute")
@public
def save(token):
    """Save the card typed on our form (test processor), or go to the processor's page to save one there."""
    link, closed = open_link(token)
    if closed:
        return closed
    contact = link.contact
    processor = method_setup.saving_processor()
    try:
        if processor is None:
            raise ServiceError(method_setup.NOT_AVAILABLE)
        if processor.hosted:
            url = method_setup.start_setup(
                contact,
                return_url=external_url("methods.returned", token=token),
                cancel_url=external_url("methods.show", token=token),
                consent_ip=client_address(),
                actor=client_actor(contact),
                link=link,
            )
            return redirect(url, 303)
        form = CardForm()
        if not form.validate_on_submit():
            return page(token, link, form, 422)
        method_setup.save_card(
            contact, form.card(), consent_ip=client_address(), actor=client_actor(contact), link=link
        )
    except (Declined, ServiceError) as error:
        db.session.rollback()
        link, closed = open_link(token)
        if closed:
            return closed
        return page(token, link, CardForm() if processor and not processor.hosted else None, 422, str(error))
    return redirect(url_for("methods.saved", token=token), 303)


@bp.get("/<token>/return")
@limiter.limit("60 per minute")
@public
def returned(token):
    """Back from the processor's page: record what it saved (unless its webhook already did)."""
    link = method_setup.link_for_token(token)
    if link is None:
        return closed_page("unknown")
    contact_id = link.contact_id
    try:
        state = method_setup.read_setup(method_setup.saving_account(), request.args.get("session_id", ""))
        if str(link.id) != state.metadata.get("link"):
            abort(404)
        with write_transaction():
            method = method_setup.record_setup(state, db.session.get_one(Contact, contact_id))
    except method_setup.LinkSpent as error:
        return render_template("pay/closed.html", title="Not saved", hint=str(error), link=None), 410
    except ServiceError as error:
        return render_template("pay/closed.html", title="Not saved yet", hint=str(error), link=None), 502
    if method is None:
        return redirect(url_for("methods.show", token=token), 303)  # left without saving: the page again
    return redirect(url_for("methods.saved", token=token), 303)


@bp.get("/<token>/saved")
@limiter.limit("60 per minute")
@public
def saved(token):
    """What was saved through this link."""
    link = method_setup.link_for_token(token)
    if link is None or link.method is None:
        state = method_setup.link_state(link)
        return redirect(url_for("methods.show", token=token), 303) if state == "open" else closed_page(state)
    return render_template("methods/saved.html", link=link, method=link.method)
