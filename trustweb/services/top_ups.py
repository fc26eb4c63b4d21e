"""Automatic top-ups: the client's authorisation, in the portal, for the worker to charge a saved method when a
matter's trust balance falls below its evergreen minimum; and its end, by the client or by staff.

The words the client agreed to are made here, shown on the portal's page and recorded word for word, with the
moment and address, in the audit trail (`matter.top_up_authorised`); the method keeps the consent it was saved
with. Each change locks the matter's row and is audited in its transaction.
"""

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import Contact, FirmSettings, Matter, MatterStatus, SavedMethod, User
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services.firm import currency_of
from trustweb.services.portal import client_actor
from trustweb.services.replenishment import account_of
from trustweb.services.saved_methods import active_methods, usable_for
from trustweb.services.trust import firm_today


def consent_text(matter: Matter, method: SavedMethod) -> str:
    """What the client agrees to, in the words shown to them."""
    currency = currency_of(account_of(matter))
    minimum = format_cents(matter.evergreen_minimum_cents or 0, currency)
    target = matter.evergreen_target_cents
    goal = format_cents(target if target is not None else matter.evergreen_minimum_cents or 0, currency)
    return (
        f"I authorise {FirmSettings.get().firm_name} to charge {method.label.split(',')[0]} automatically whenever "
        f"the money held in trust for {matter.number} falls below {minimum}, for the amount that brings it back "
        f"to {goal} (never more than that), and to email me a receipt each time, until I turn this off."
    )


def methods_for(matter: Matter, contact: Contact) -> list[SavedMethod]:
    """The client's saved methods that can pay the matter's top-up."""
    account = account_of(matter)
    today = firm_today()
    if account is None:
        return []
    return [m for m in active_methods(contact) if usable_for(m, account) and not m.expired_on(today)]


def lock(matter: Matter) -> Matter:
    """The matter's row, FOR NO KEY UPDATE and read afresh: a request or ledger inserted for it meanwhile goes on."""
    return db.session.execute(
        select(Matter)
        .where(Matter.id == matter.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def authorise(contact: Contact, matter: Matter, method: SavedMethod | None, *, ip: str | None) -> Matter:
    """The client authorises automatic top-ups of the matter from the method; audited with the words agreed to."""
    matter = lock(matter)
    if matter.client_id != contact.id:
        raise ServiceError("This matter is not yours.")
    if matter.status != MatterStatus.OPEN or matter.evergreen_minimum_cents is None:
        raise ServiceError(f"{matter.number} has no agreed minimum balance to top up to.")
    if method is None or method not in methods_for(matter, contact):
        raise ServiceError("Choose one of your saved payment methods.")
    before = {"evergreen_method_id": matter.evergreen_method_id}
    words = consent_text(matter, method)
    matter.evergreen_method_id, matter.evergreen_authorised_at = method.id, utcnow()
    audit.record(
        "matter.top_up_authorised",
        matter,
        before=before,
        after={
            "evergreen_method_id": method.id,
            "method": method.label,
            "consent_text": words,
            "consented_at": matter.evergreen_authorised_at,
            "consent_ip": ip,
        },
        actor=client_actor(contact),
    )
    db.session.commit()
    return matter


def turn_off(matter: Matter, *, user: User | None = None, contact: Contact | None = None) -> Matter:
    """No more automatic top-ups (the client asked, or staff); audited."""
    matter = lock(matter)
    if contact is not None and matter.client_id != contact.id:
        raise ServiceError("This matter is not yours.")
    if matter.evergreen_method_id is None:
        raise ServiceError(f"{matter.number} does not top up automatically.")
    before = {
        "evergreen_method_id": matter.evergreen_method_id,
        "evergreen_authorised_at": matter.evergreen_authorised_at,
    }
    matter.evergreen_method_id, matter.evergreen_authorised_at = None, None
    audit.record(
        "matter.top_up_stopped",
        matter,
        before=before,
        after={"evergreen_method_id": None},
        user=user,
        actor=client_actor(contact) if contact is not None else None,
    )
    db.session.commit()
    return matter
