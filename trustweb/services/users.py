"""Staff accounts: sign-in, invitations, roles and disabling."""

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from trustweb.extensions import db
from trustweb.models import ROLES, User
from trustweb.models.base import utcnow
from trustweb.services import ServiceError

hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss takes as long as a hit.
_DUMMY_HASH = hasher.hash("not-a-real-password")

MIN_PASSWORD = 12
MAX_PASSWORD = 128


class LoginRefused(ServiceError):
    pass


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email):
    return email.strip().lower()


def find_user(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password):
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"The password must be at least {MIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise ServiceError(f"The password must be at most {MAX_PASSWORD} characters long.")


def authenticate(email, password):
    """The user with this email and password, or LoginRefused saying why."""
    user = find_user(email)
    try:
        hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        ok = user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise LoginRefused("The email or password is not right.")
    if not user.active:
        raise LoginRefused("This account is disabled. Ask your administrator to enable it.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def create_user(email, name, role, password):
    """A user who can sign in at once (the CLI and demo data use this)."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    check_password_rules(password)
    if find_user(email):
        raise ServiceError(f"A user with the email {normalise_email(email)} already exists.")
    user = User(email=normalise_email(email), name=name, role=role, password_hash=hasher.hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def invite_user(email, name, role):
    """Create an invited user; returns (user, token) where the token goes in the invite link."""
    if find_user(email):
        raise ServiceError(f"A user with the email {normalise_email(email)} already exists.")
    user = User(email=normalise_email(email), name=name, role=role)
    token = _new_invite(user)
    db.session.add(user)
    db.session.commit()
    return user, token


def reissue_invite(user):
    if user.password_hash is not None:
        raise ServiceError("This user has already set a password.")
    token = _new_invite(user)
    db.session.commit()
    return token


def _new_invite(user):
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = token_hash(token)
    user.invite_expires_at = utcnow() + timedelta(days=current_app.config["INVITE_DAYS"])
    return token


def user_for_invite(token):
    """The invited user for a link token, or None when unknown, used or expired."""
    user = db.session.scalar(select(User).where(User.invite_token_hash == token_hash(token)))
    if user is None or not user.active or user.invite_expires_at is None:
        return None
    expires = user.invite_expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    return user if expires > utcnow() else None


def accept_invite(user, password):
    check_password_rules(password)
    user.password_hash = hasher.hash(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.session_version += 1
    db.session.commit()
    return user


def change_password(user, current, new):
    """Change one's own password; every other session of the user ends."""
    try:
        hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as error:
        raise ServiceError("The current password is not right.") from error
    check_password_rules(new)
    user.password_hash = hasher.hash(new)
    user.session_version += 1
    db.session.commit()
    return user


def _other_active_admins(user):
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active, User.id != user.id)
    )


def update_user(user, *, name, role, acting_user):
    if role not in ROLES:
        raise ServiceError("Choose a role from the list.")
    if user.role == "admin" and role != "admin" and _other_active_admins(user) == 0:
        raise ServiceError("The firm needs at least one active administrator; make someone else admin first.")
    if user.id == acting_user.id and role != user.role:
        raise ServiceError("You cannot change your own role.")
    user.name = name
    user.role = role
    db.session.commit()
    return user


def set_active(user, active, *, acting_user):
    if not active:
        if user.id == acting_user.id:
            raise ServiceError("You cannot disable your own account.")
        if user.role == "admin" and _other_active_admins(user) == 0:
            raise ServiceError("The firm needs at least one active administrator.")
        user.session_version += 1  # ends any session the user has open
    user.active = active
    db.session.commit()
    return user
