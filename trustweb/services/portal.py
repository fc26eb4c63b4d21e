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
from sqlalchemy.orm import contains_eager

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


def _lock_access(contact: Contact) -> PortalAccess | None:
    """The contact's access row, locked until commit: an invitation, a revocation and a sign-in of one client
    take their turns, so a sign-in never slips past a revocation that commits meanwhile."""
    return db.session.scalar(
        select(PortalAccess)
        .where(PortalAccess.contact_id == contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _end_sessions_and_links(contact: Contact) -> None:
    """Sign the client out everywhere and make every unused link of theirs stop working (the caller commits)."""
    now = utcnow()
    db.session.execute(delete(PortalSession).where(PortalSession.contact_id == contact.id))
    db.session.execute(
        update(PortalLink)
        .where(PortalLink.contact_id == contact.id, PortalLink.used_at.is_(None), PortalLink.expires_at > now)
        .values(expires_at=now)
    )


def invite(contact: Contact, user: User) -> str:
    """Give the contact portal access (again, if it was revoked) and email them a link that signs them in; the
    link is returned, for staff to hand over another way. An earlier invitation's link stops working."""
    email = (contact.email or "").strip()
    if not email:
        raise ServiceError(f"{contact.name} has no email address; add one before inviting them to the portal.")
    access = _lock_access(contact)
    before = {"access": "none" if access is None else ("revoked" if access.revoked_at else "active")}
    if access is None:
        access = PortalAccess(contact_id=contact.id, granted_at=utcnow(), granted_by_id=user.id)
        db.session.add(access)
    elif access.revoked_at is not None:
        access.granted_at, access.granted_by_id = utcnow(), user.id
        access.revoked_at = access.revoked_by_id = None
    _end_sessions_and_links(contact) if before["access"] == "revoked" else _end_links_of(
        contact, PortalLinkPurpose.INVITE
    )
    lifetime = current_app.config["PORTAL_INVITE_LIFETIME"]
    link = _new_link(contact, email, PortalLinkPurpose.INVITE, lifetime)
    firm = FirmSettings.get()
    context = {
        "contact": contact,
        "link": link,
        "firm": firm,
        "hours": int(lifetime.total_seconds() // 3600),
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


def _end_links_of(contact: Contact, purpose: PortalLinkPurpose) -> None:
    now = utcnow()
    db.session.execute(
        update(PortalLink)
        .where(
            PortalLink.contact_id == contact.id,
            PortalLink.purpose == purpose,
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > now,
        )
        .values(expires_at=now)
    )


def revoke(contact: Contact, user: User) -> None:
    """End the contact's portal access: their sessions and unused links stop working at once."""
    access = _lock_access(contact)
    if access is None or access.revoked_at is not None:
        raise ServiceError(f"{contact.name} has no portal access to revoke.")
    access.revoked_at, access.revoked_by_id = utcnow(), user.id
    _end_sessions_and_links(contact)
    audit.record("portal.revoked", contact, before={"access": "active"}, after={"access": "revoked"}, user=user)
    db.session.commit()


def addresses_changed(contact: Contact, before: dict[str, str | None]) -> None:
    """A client's email addresses changed: links sent to the old ones and sessions begun from them end (the
    caller commits). The client asks for a new link at the address the firm now has."""
    if not has_access(contact):
        return
    _end_sessions_and_links(contact)
    audit.record(
        "portal.signed_out_everywhere",
        contact,
        before=before,
        after={"email": contact.email, "other_email": contact.other_email},
    )


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
    """The unused, unexpired link for a token whose client still has access at the address it went to, or None."""
    if not token or len(token) > 100:
        return None
    address = func.lower(PortalLink.email)
    return db.session.scalar(
        select(PortalLink)
        .join(PortalAccess, PortalAccess.contact_id == PortalLink.contact_id)
        .join(Contact, Contact.id == PortalLink.contact_id)
        .where(
            PortalLink.token_hash == token_hash(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > utcnow(),
            PortalAccess.revoked_at.is_(None),
            # Sent to an address the client still has: one the firm has since corrected no longer signs in.
            or_(address == func.lower(Contact.email), address == func.lower(Contact.other_email)),
        )
        .options(contains_eager(PortalLink.contact))
    )


def sign_in(token: str, ip: str | None, user_agent: str | None, replacing: str | None = None) -> tuple[Contact, str]:
    """Use a link: (the client, a new session token). Refused when the link is unknown, used or expired, or the
    client's access ended. `replacing` is the session this browser had (another client's, say): it ends."""
    link = link_for_token(token)
    # The access row locked and read afresh: a revocation that committed meanwhile is seen, one that comes later
    # waits for this sign-in and then ends its session.
    access = _lock_access(link.contact) if link is not None else None
    if link is None or access is None or access.revoked_at is not None:
        db.session.rollback()
        raise ServiceError(SIGN_IN_REFUSED)
    now = utcnow()
    # Used once: of two tabs that press at the same moment, one updates the row and the other is refused (as is a
    # link that an address change or a new invitation ended meanwhile).
    used = rows_updated(
        update(PortalLink)
        .where(PortalLink.id == link.id, PortalLink.used_at.is_(None), PortalLink.expires_at > now)
        .values(used_at=now)
    )
    if not used:
        db.session.rollback()
        raise ServiceError(SIGN_IN_REFUSED)
    contact = link.contact
    session_token = secrets.token_urlsafe(32)
    ended = PortalSession.expires_at < now
    if replacing:
        ended = or_(ended, PortalSession.token_hash == token_hash(replacing))
    db.session.execute(delete(PortalSession).where(ended))
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


SIGN_IN_REFUSED = "This sign-in link has expired or has already been used. Ask for a new one below."


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
