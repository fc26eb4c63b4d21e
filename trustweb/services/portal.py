"""The client portal's access: staff grant and revoke it; clients sign in with one-time emailed links.

A sign-in link is random (256 bits), kept only as its SHA-256, used once (a conditional UPDATE, so two tabs
racing on one link sign in once), and short-lived. Asking for a link answers the same whether the address is
known or not: the page never tells who is a client. A session is a row, so signing out or revoking access ends
it on every device; its inactivity limit is kept in the signed cookie (portal/sessions.py), so reading a page
writes nothing.
"""

import secrets
from datetime import timedelta
from typing import TypeVar, cast

from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.models import Contact, FirmSettings, PortalAccess, PortalLink, PortalLinkPurpose, PortalSession, User
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services.sessions import normalise_email, token_hash
from trustweb.urls import external_url

SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
HTML = TypeVar("HTML", bound=str)


def client_actor(contact: Contact) -> str:
    """Who the audit trail names for what a client does in the portal."""
    return f"client {contact.id}: {contact.name}"[:254]


def access_of(contact: Contact) -> PortalAccess | None:
    return db.session.scalar(select(PortalAccess).where(PortalAccess.contact_id == contact.id))


def has_access(contact: Contact) -> bool:
    access = access_of(contact)
    return access is not None and access.revoked_at is None


def with_portal_note(contact: Contact, email: tuple[str, str, HTML]) -> tuple[str, str, HTML]:
    """A client email (subject, text, html) with a line pointing to the portal, when the client has access to it:
    the email's own link still pays, and the portal shows everything else. The html stays what it was given
    (Markup, or a template's already escaped output)."""
    subject, text, html = email
    if not has_access(contact):
        return email
    url = external_url("portal.sign_in")
    note = "You can also see this, what we hold in trust for you and your receipts in your client portal"
    text = f"{text.rstrip()}\n\n{note}: {url}\n"
    extra = Markup('<p>{}: <a href="{}">{}</a></p>').format(note, url, url)
    return subject, text, cast(HTML, html + extra if isinstance(html, Markup) else f"{html}{extra}")


def invite(contact: Contact, user: User) -> str:
    """Give the contact portal access (again, if it was revoked) and email them a link that signs them in; the
    link is returned, for staff to hand over another way."""
    email = (contact.email or "").strip()
    if not email:
        raise ServiceError(f"{contact.name} has no email address; add one before inviting them to the portal.")
    access = access_of(contact)
    before = {"access": "none" if access is None else ("revoked" if access.revoked_at else "active")}
    if access is None:
        access = PortalAccess(contact_id=contact.id, granted_at=utcnow(), granted_by_id=user.id)
        db.session.add(access)
    elif access.revoked_at is not None:
        access.granted_at, access.granted_by_id = utcnow(), user.id
        access.revoked_at = access.revoked_by_id = None
    days = current_app.config["INVITE_DAYS"]
    link = _new_link(contact, email, PortalLinkPurpose.INVITE, timedelta(days=days))
    firm = FirmSettings.get()
    context = {
        "contact": contact,
        "link": link,
        "firm": firm,
        "days": days,
        "invited_by": user,
        "portal_url": external_url("portal.sign_in"),
    }
    mail.queue(
        "portal_invite",
        [email],
        f"Your secure client portal at {firm.firm_name}",
        render_template("email/portal_invite.txt", **context),
        render_template("email/portal_invite.html", **context),
        reply_to=user.email,
        link_url=link,
    )
    db.session.flush()
    audit.record("portal.invited", contact, before=before, after={"access": "active", "to": email}, user=user)
    db.session.commit()
    return link


def revoke(contact: Contact, user: User) -> None:
    """End the contact's portal access: their sessions and unused links stop working at once."""
    access = access_of(contact)
    if access is None or access.revoked_at is not None:
        raise ServiceError(f"{contact.name} has no portal access to revoke.")
    access.revoked_at, access.revoked_by_id = utcnow(), user.id
    db.session.execute(delete(PortalSession).where(PortalSession.contact_id == contact.id))
    db.session.execute(
        update(PortalLink)
        .where(PortalLink.contact_id == contact.id, PortalLink.used_at.is_(None))
        .values(expires_at=utcnow())
    )
    audit.record("portal.revoked", contact, before={"access": "active"}, after={"access": "revoked"}, user=user)
    db.session.commit()


def request_sign_in(email: str) -> int:
    """Email a sign-in link to each client with portal access under this address; how many were queued (never
    shown to the person asking)."""
    email = normalise_email(email)[:254]
    contacts = db.session.scalars(
        select(Contact)
        .join(PortalAccess, PortalAccess.contact_id == Contact.id)
        .where(
            PortalAccess.revoked_at.is_(None),
            or_(func.lower(Contact.email) == email, func.lower(Contact.other_email) == email),
        )
        .order_by(Contact.id)
    ).all()
    firm = FirmSettings.get()
    for contact in contacts:
        link = _new_link(contact, email, PortalLinkPurpose.SIGN_IN, SIGN_IN_LINK_LIFETIME)
        minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
        context = {"contact": contact, "link": link, "firm": firm, "minutes": minutes}
        mail.queue(
            "portal_sign_in",
            [email],
            f"Your sign-in link for {firm.firm_name}",
            render_template("email/portal_sign_in.txt", **context),
            render_template("email/portal_sign_in.html", **context),
            link_url=link,
        )
    db.session.commit()
    return len(contacts)


def printed_link(contact: Contact) -> str:
    """A one-time sign-in link for a client who has access, not emailed: the demo prints one for the newcomer."""
    if not has_access(contact):
        raise ServiceError(f"{contact.name} has no portal access.")
    link = _new_link(contact, contact.email or "", PortalLinkPurpose.INVITE, SIGN_IN_LINK_LIFETIME)
    db.session.commit()
    return link


def _new_link(contact: Contact, email: str, purpose: PortalLinkPurpose, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        PortalLink(
            contact_id=contact.id,
            token_hash=token_hash(token),
            email=email,
            purpose=purpose,
            expires_at=utcnow() + lifetime,
        )
    )
    return external_url("portal.confirm", token=token)


def link_for_token(token: str | None) -> PortalLink | None:
    """The unused, unexpired link for a token whose client still has access, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(PortalLink)
        .join(PortalAccess, PortalAccess.contact_id == PortalLink.contact_id)
        .where(
            PortalLink.token_hash == token_hash(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > utcnow(),
            PortalAccess.revoked_at.is_(None),
        )
        .options(joinedload(PortalLink.contact))
    )


def sign_in(token: str, ip: str | None, user_agent: str | None) -> tuple[Contact, str]:
    """Use a link: (the client, a new session token). Refused when the link is unknown, used or expired."""
    link = link_for_token(token)
    now = utcnow()
    # Used once: of two tabs that press at the same moment, one updates the row and the other is refused.
    used = link is not None and rows_updated(
        update(PortalLink).where(PortalLink.id == link.id, PortalLink.used_at.is_(None)).values(used_at=now)
    )
    if link is None or not used:
        db.session.rollback()
        raise ServiceError("This sign-in link has expired or has already been used. Ask for a new one below.")
    contact = link.contact
    session_token = secrets.token_urlsafe(32)
    db.session.execute(
        delete(PortalSession).where(PortalSession.contact_id == contact.id, PortalSession.expires_at < now)
    )
    db.session.add(
        PortalSession(
            contact_id=contact.id,
            token_hash=token_hash(session_token),
            expires_at=now + current_app.config["PORTAL_SESSION_LIFETIME"],
            ip=(ip or "")[:45],
            user_agent=(user_agent or "")[:200],
        )
    )
    db.session.execute(update(PortalAccess).where(PortalAccess.contact_id == contact.id).values(last_sign_in_at=now))
    audit.record(
        "portal.signed_in", contact, after={"link": link.purpose, "email": link.email}, actor=client_actor(contact)
    )
    db.session.commit()
    return contact, session_token


def contact_for_session(session_token: str | None) -> Contact | None:
    """The client whose unexpired session this is, while their access lasts; else None."""
    if not session_token or len(session_token) > 100:
        return None
    return db.session.scalar(
        select(Contact)
        .join(PortalSession, PortalSession.contact_id == Contact.id)
        .join(PortalAccess, PortalAccess.contact_id == Contact.id)
        .where(
            PortalSession.token_hash == token_hash(session_token),
            PortalSession.expires_at > utcnow(),
            PortalAccess.revoked_at.is_(None),
        )
    )


def sign_out(session_token: str) -> None:
    db.session.execute(delete(PortalSession).where(PortalSession.token_hash == token_hash(session_token)))
    db.session.commit()
