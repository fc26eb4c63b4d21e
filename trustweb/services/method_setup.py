"""A client saves a card or bank account for later: on our card form (the test processor) or on Stripe's page.

Wherever they do it (the pay page after paying, the portal, or a link staff emailed them), the client is shown
one consent sentence beside the button, and that sentence is what is kept, word for word, with the moment and the
address it was given from (`saved_methods.record_saved`, audited). The method is saved with the processor of the
firm's default trust account: a method kept there also pays operating invoices when the operating account uses
the same processor and keys (`saved_methods.usable_for`).

With Stripe the client saves it on a setup-mode Checkout Session for their Customer. What they agreed to travels
in the session's metadata (our own, set server-side), so the method is recorded from the session by whichever
comes first, the client's return or Stripe's signed webhook, once: the contact's row is locked first and the
method's reference is unique.

A "request a payment method" link is random (256 bits), kept as its SHA-256, lasts LINK_LIFETIME and saves one
method for its own contact only; it is used by a conditional UPDATE in the transaction that records the method.
"""

import secrets
from datetime import UTC, datetime, timedelta

from flask import render_template
from sqlalchemy import select, update

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, FirmSettings, MethodLink, SavedMethod, User
from trustweb.models.base import utcnow
from trustweb.payments import CardDetails, Declined, Processor, SetupState, processor_for, processor_named
from trustweb.payments.keys import stripe_keys
from trustweb.payments.stripe import ProcessorError
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail, saved_methods
from trustweb.services.firm import default_account
from trustweb.services.sessions import token_hash
from trustweb.urls import external_url

LINK_LIFETIME = timedelta(days=7)
PURPOSE = "saved_method"  # the metadata that marks a setup session as ours
NOT_AVAILABLE = "Saving a card is not available at the moment; please contact the firm."
LINK_USED = "This link has already been used to save a payment method. Ask the firm for a new one if you need to."
LINK_EXPIRED = "This link has expired. Ask the firm for a new one."
LINK_SPENT = (
    "This link had already been used to save a payment method, so this one was not kept: the first one stays "
    "saved. Ask the firm for a new link to save another."
)


class LinkSpent(ServiceError):
    """A setup finished on a link already used (another tab, another session) or expired: nothing recorded."""


def consent_text(client: str | None = None) -> str:
    """The sentence a client agrees to by saving a method, shown beside the button and kept as shown. On a pay
    link, which anyone may pay (a parent, a company), it names the `client` the card is kept for, and the payer
    confirms they are that client or authorised by them."""
    firm = FirmSettings.get().firm_name
    if client is not None:
        return (
            f"This card will be kept for {client}'s future payments to {firm}. I am {client}, or authorised by "
            f"{client} and by the card's holder to do this, and I authorise {firm} to keep this card with its "
            f"payment processor and to charge it for payments of {client}'s to {firm} that are agreed to (a bill, a "
            "request for funds in trust, a payment plan or a trust top-up), until it is removed. It can be "
            "removed at any time."
        )
    return (
        f"I authorise {firm} to keep this card or bank account with its payment processor and to charge it for "
        f"payments to {firm} that I agree to (a bill, a request for funds in trust, a payment plan or a trust "
        "top-up I authorise), until I remove it. I can remove it at any time."
    )


def saving_account() -> BankAccount:
    """The account whose processor keeps saved methods: the firm's default trust account."""
    account = default_account("trust")
    if account is None or not account.active:
        raise ServiceError(NOT_AVAILABLE)
    return account


def saving_processor() -> Processor | None:
    """The processor a client saves a method with now; None when it is not set up (the page says so)."""
    try:
        return processor_for(saving_account(), FirmSettings.get())
    except ServiceError:
        return None


# ---------------------------------------------------------------- the test processor: our own card form


def save_card(
    contact: Contact,
    card: CardDetails,
    *,
    consent_ip: str | None,
    actor: str | None,
    user: User | None = None,
    link: MethodLink | None = None,
    consent: str | None = None,
) -> SavedMethod:
    """Save a card typed on our form (a processor with a card form of its own), with the `consent` shown (the
    client's own by default); raises Declined or ServiceError. Only the processor's reference, the card's brand,
    last four and expiry, and the name typed on it (the holder's) are kept."""
    account = saving_account()
    processor = processor_for(account, FirmSettings.get())
    if processor.hosted:
        raise ServiceError("Cards are saved on the processor's own page here.")
    if link is not None:
        use_link(link)
    try:
        details = processor.save_card(card, secrets.token_urlsafe(16))
    except Declined:
        db.session.rollback()  # the link stays unused
        raise
    method = saved_methods.record_saved(
        contact,
        account,
        details,
        processor=processor.name,
        consent_text=consent or consent_text(),
        consent_ip=consent_ip,
        user=user,
        actor=actor,
    )
    if link is not None:
        link.method_id = method.id
    db.session.commit()
    return method


# ---------------------------------------------------------------- Stripe: a setup checkout


def _customer_for(contact: Contact, account: BankAccount) -> str | None:
    """The Stripe Customer the contact already has under this account's keys, if any (removed methods' too)."""
    keys = stripe_keys(account).secret_key
    earlier = db.session.scalars(
        select(SavedMethod)
        .where(
            SavedMethod.contact_id == contact.id,
            SavedMethod.processor == "stripe",
            SavedMethod.customer_reference.is_not(None),
        )
        .order_by(SavedMethod.id.desc())
    )
    for method in earlier:
        if stripe_keys(method.bank_account).secret_key == keys:
            return method.customer_reference
    return None


def start_setup(
    contact: Contact,
    *,
    return_url: str,
    cancel_url: str,
    consent_ip: str | None,
    actor: str | None,
    user: User | None = None,
    link: MethodLink | None = None,
) -> str:
    """The address of the processor's page where the client saves a card or bank account (nothing is written
    here: the method is recorded when they come back, or when the processor's webhook says so)."""
    account = saving_account()
    processor = processor_for(account, FirmSettings.get())
    if not processor.hosted:
        raise ServiceError("Cards are saved on our own form here.")
    if link is not None and link_state(link) != "open":
        raise ServiceError(LINK_USED if link.used_at else LINK_EXPIRED)
    metadata = {
        "purpose": PURPOSE,
        "contact": str(contact.id),
        "account": str(account.id),
        "consent": consent_text(),
        "consent_ip": consent_ip or "",
        "consented_at": str(int(utcnow().timestamp())),
        "user": str(user.id) if user is not None else "",
        "actor": actor or "",
        "link": str(link.id) if link is not None else "",
    }
    try:
        checkout = processor.create_setup_checkout(
            customer_reference=_customer_for(contact, account),
            email=contact.email,
            name=contact.name,
            currency=account.currency,
            success_url=return_url + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=cancel_url,
            metadata=metadata,
            key=secrets.token_urlsafe(16),
        )
    except ProcessorError as error:
        raise ServiceError(
            f"The card processor could not be reached ({error}). Please try again in a minute."
        ) from error
    return checkout.url


def read_setup(account: BankAccount, reference: str) -> SetupState:
    """What the processor of this account says about a setup checkout (asked before any write)."""
    if not (reference.startswith("cs_") and reference.isascii() and len(reference) <= 200):
        return SetupState("unknown", None, {})  # an address typed by hand: nothing to ask Stripe about
    processor = processor_named("stripe", account, FirmSettings.get())
    try:
        return processor.setup_state(reference)
    except ProcessorError as error:
        raise ServiceError(f"Stripe could not be asked about this card: {error}") from error


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def record_setup(state: SetupState, contact: Contact | None = None) -> SavedMethod | None:
    """Record the method a completed setup checkout saved, once (the return and the webhook both end here);
    None when the session is not ours, not complete, or (`contact` given) another client's. Commits."""
    meta = state.metadata
    contact_id, account_id = _number(meta.get("contact")), _number(meta.get("account"))
    if meta.get("purpose") != PURPOSE or contact_id is None or account_id is None or state.details is None:
        return None
    if state.status != "complete" or (contact is not None and contact.id != contact_id):
        return None
    # The contact's row locked: the client's return and Stripe's webhook take their turns, and the second finds
    # the method the first recorded.
    owner = db.session.scalar(select(Contact).where(Contact.id == contact_id).with_for_update())
    account = db.session.get(BankAccount, account_id)
    if owner is None or account is None:
        return None
    link = db.session.get(MethodLink, _number(meta.get("link"))) if _number(meta.get("link")) else None
    if link is not None and link.contact_id != owner.id:
        link = None
    user = db.session.get(User, _number(meta.get("user"))) if _number(meta.get("user")) else None
    moment = _number(meta.get("consented_at"))
    known = db.session.scalar(select(SavedMethod).where(SavedMethod.method_reference == state.details.method_reference))
    if known is not None:
        return known  # the same session reported again (the return, then its webhook): recorded once
    if link is not None:
        # The link saves one method: a second session from it (two tabs) or one finished after it expired is
        # refused here, where it is used, not only when the session was started.
        use_link(link, used_message=LINK_SPENT)
    method = saved_methods.record_saved(
        owner,
        account,
        state.details,
        processor="stripe",
        consent_text=meta.get("consent") or "",
        consent_ip=meta.get("consent_ip") or None,
        user=user,
        actor=meta.get("actor") or None,
        consented_at=datetime.fromtimestamp(moment, UTC) if moment else None,
    )
    if link is not None:
        link.method_id = method.id
    db.session.commit()
    return method


# ---------------------------------------------------------------- the emailed link


def request_method(contact: Contact, user: User) -> str:
    """Email the client a one-time link to save a card or bank account (an earlier unused one stops working);
    returns the link."""
    email = (contact.email or "").strip()
    if not email:
        raise ServiceError(f"{contact.name} has no email address; add one before asking for a payment method.")
    saving_account()
    now = utcnow()
    db.session.execute(
        update(MethodLink)
        .where(MethodLink.contact_id == contact.id, MethodLink.used_at.is_(None), MethodLink.expires_at > now)
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    link = MethodLink(
        contact_id=contact.id,
        token_hash=token_hash(token),
        email=email,
        created_by_id=user.id,
        expires_at=now + LINK_LIFETIME,
    )
    db.session.add(link)
    url = external_url("methods.show", token=token)
    firm = FirmSettings.get()
    context = {"contact": contact, "link": url, "firm": firm, "asked_by": user, "days": LINK_LIFETIME.days}
    mail.queue(
        "method_request",
        [email],
        f"{firm.firm_name} asks you to save a payment method",
        render_template("email/method_request.txt", **context),
        render_template("email/method_request.html", **context),
        reply_to=user.email,
        link_url=url,
    )
    db.session.flush()
    audit.record("method.requested", contact, after={"to": email, "link": link.id}, user=user)
    db.session.commit()
    return url


def link_for_token(token: str | None) -> MethodLink | None:
    """The link of this token, whatever its state (the page says plainly when it is used or expired)."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(MethodLink).where(MethodLink.token_hash == token_hash(token)))


def link_state(link: MethodLink | None) -> str:
    """ "open", "used", "expired" or "unknown"."""
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    if link.expires_at <= utcnow():
        return "expired"
    return "open"


def use_link(link: MethodLink, used_message: str = LINK_USED) -> None:
    """Take the link for this save (the caller commits): of two presses at once, one saves and one is refused
    (`LinkSpent`, with `used_message` when it was used; rolled back)."""
    used = rows_updated(
        update(MethodLink)
        .where(MethodLink.id == link.id, MethodLink.used_at.is_(None), MethodLink.expires_at > utcnow())
        .values(used_at=utcnow())
    )
    if not used:
        db.session.rollback()
        raise LinkSpent(used_message if link.used_at else LINK_EXPIRED)
