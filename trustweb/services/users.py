"""Staff accounts: sign-in, invitations, roles and disabling."""

import secrets
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, render_template
from sqlalchemy import func, select

from trustweb.extensions import db
from trustweb.models import ROLES, FirmSettings, User
from trustweb.models.base import utcnow
from trustweb.passwords import weakness
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services.sessions import end_other_sessions, normalise_email, password_hasher, token_hash
from trustweb.urls import external_url

USER_FIELDS = ("email", "name", "role", "active")
MIN_PASSWORD = 12
MAX_PASSWORD = 128


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password: str, email: str) -> None:
    """Refuse a new password that is too short or too long, or too easy to guess (trustweb/passwords.py)."""
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"The password must be at least {MIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise ServiceError(f"The password must be at most {MAX_PASSWORD} characters long.")
    reason = weakness(password, email=email, firm_name=FirmSettings.get().firm_name)
    if reason is not None:
        raise ServiceError(reason)


def create_user(email: str, name: str, role: str, password: str) -> User:
    """A user who can sign in at once (the CLI and demo data use this)."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    check_password_rules(password, email)
    if find_user(email):
        raise ServiceError(f"A user with the email {normalise_email(email)} already exists.")
    user = User(email=normalise_email(email), name=name, role=role, password_hash=password_hasher().hash(password))
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, after=audit.snapshot(user, USER_FIELDS))
    db.session.commit()
    return user


def invite_user(email: str, name: str, role: str, invited_by: User | None = None) -> tuple[User, str]:
    """Create an invited user and email them the one-time link (through the outbox); returns (user, link)."""
    if find_user(email):
        raise ServiceError(f"A user with the email {normalise_email(email)} already exists.")
    user = User(email=normalise_email(email), name=name, role=role)
    token = _new_invite(user)
    db.session.add(user)
    db.session.flush()
    audit.record("user.invited", user, after=audit.snapshot(user, USER_FIELDS))
    link = _queue_invite(user, token, invited_by)
    db.session.commit()
    return user, link


def reissue_invite(user: User, invited_by: User | None = None) -> str:
    """A new link for someone who lost theirs or let it expire (the old one stops working); emailed, returned."""
    if user.password_hash is not None:
        raise ServiceError("This user has already set a password.")
    token = _new_invite(user)
    audit.record("user.invite_reissued", user)
    link = _queue_invite(user, token, invited_by)
    db.session.commit()
    return link


def _queue_invite(user: User, token: str, invited_by: User | None) -> str:
    link = external_url("auth.accept", token=token)
    context = {"user": user, "link": link, "firm": FirmSettings.get(), "invited_by": invited_by}
    mail.queue(
        "invite",
        [user.email],
        f"You are invited to {context['firm'].firm_name}'s TrustWeb",
        render_template("email/invite.txt", **context),
        render_template("email/invite.html", **context),
        reply_to=invited_by.email if invited_by is not None else None,
        link_url=link,
    )
    return link


def _new_invite(user: User) -> str:
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = token_hash(token)
    user.invite_expires_at = utcnow() + timedelta(days=current_app.config["INVITE_DAYS"])
    return token


def user_for_invite(token: str) -> User | None:
    """The invited user for a link token, or None when unknown, used or expired."""
    user = db.session.scalar(select(User).where(User.invite_token_hash == token_hash(token)))
    if user is None or not user.active or user.invite_expires_at is None:
        return None
    return user if user.invite_expires_at > utcnow() else None


def accept_invite(user: User, password: str) -> User:
    check_password_rules(password, user.email)
    user.password_hash = password_hasher().hash(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    end_other_sessions(user)
    audit.record("user.invite_accepted", user, user=user)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> User:
    """Change one's own password; every other session of the user ends, this one goes on."""
    try:
        password_hasher().verify(user.password_hash or "", current)  # no password set: nothing matches
    except (VerificationError, InvalidHashError) as error:
        raise ServiceError("The current password is not right.") from error
    check_password_rules(new, user.email)
    user.password_hash = password_hasher().hash(new)
    end_other_sessions(user, keep_token=user.session_token)
    audit.record("user.password_changed", user, user=user)
    db.session.commit()
    return user


def _other_active_admins(user: User) -> int:
    """Administrators other than user who can sign in, counted under a lock on every admin row.

    The lock (FOR UPDATE on PostgreSQL; on SQLite the write transaction already
    holds one) makes two admins demoting each other at once queue, so the second
    sees the first's change and the firm keeps an administrator.
    """
    db.session.execute(select(User.id).where(User.role == "admin").with_for_update())
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active, User.password_hash.is_not(None), User.id != user.id)
    ).scalar_one()


def update_user(user: User, *, name: str, role: str, acting_user: User) -> User:
    if role not in ROLES:
        raise ServiceError("Choose a role from the list.")
    if user.role == "admin" and role != "admin" and _other_active_admins(user) == 0:
        raise ServiceError("The firm needs at least one active administrator; make someone else admin first.")
    if user.id == acting_user.id and role != user.role:
        raise ServiceError("You cannot change your own role.")
    before = audit.snapshot(user, USER_FIELDS)
    user.name = name
    user.role = role
    audit.record("user.updated", user, before=before, after=audit.snapshot(user, USER_FIELDS), user=acting_user)
    db.session.commit()
    return user


def set_active(user: User, active: bool, *, acting_user: User) -> User:
    if not active:
        if user.id == acting_user.id:
            raise ServiceError("You cannot disable your own account.")
        if user.role == "admin" and _other_active_admins(user) == 0:
            raise ServiceError("The firm needs at least one active administrator.")
        end_other_sessions(user)
    user.active = active
    audit.record(
        "user.enabled" if active else "user.disabled",
        user,
        before={"active": not active},
        after={"active": active},
        user=acting_user,
    )
    db.session.commit()
    return user
