"""Signing in and out: password checks slowed against guessing, and sessions kept server-side.

Failed attempts are counted in the database, not in process memory, so the
limit holds across every gunicorn worker and app server. A session is a row:
signing out, disabling a user or changing a password deletes rows, and a
copied cookie then stops working too.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.models import LoginAttempt, User, UserSession
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError

_HASHERS: dict[tuple[tuple[str, int], ...], tuple[PasswordHasher, str]] = {}


def _argon2() -> tuple[PasswordHasher, str]:
    """(hasher, hash of a dummy password) for the Argon2id costs in ARGON2 (cheap only in tests)."""
    costs = tuple(sorted(current_app.config["ARGON2"].items()))
    if costs not in _HASHERS:
        hasher = PasswordHasher(**dict(costs))
        # Verified against when the email is unknown, so a miss takes as long as a hit.
        _HASHERS[costs] = hasher, hasher.hash("not-a-real-password")
    return _HASHERS[costs]


def password_hasher() -> PasswordHasher:
    return _argon2()[0]


ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 10
MAX_FAILURES_PER_ADDRESS = 50
KEEP_ATTEMPTS = timedelta(days=90)


class LoginRefused(ServiceError):
    pass


class TooManyAttempts(ServiceError):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _failures_since(moment: datetime, *where: ColumnElement[bool]) -> int:
    return db.session.execute(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= moment, ~LoginAttempt.succeeded, *where)
    ).scalar_one()


def authenticate(email: str, password: str, ip: str) -> User:
    """The user with this email and password, or LoginRefused / TooManyAttempts saying why."""
    email = normalise_email(email)[:254]
    now = utcnow()
    # Recorded and committed before checking, so that simultaneous guesses count each other.
    attempt = LoginAttempt(email=email, ip=ip[:45], succeeded=False, at=now)
    db.session.add(attempt)
    db.session.commit()

    window_start = now - ATTEMPT_WINDOW
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.succeeded)
    )
    since = max(window_start, last_success or window_start)
    if (
        _failures_since(since, LoginAttempt.email == email) > MAX_FAILURES_PER_EMAIL
        or _failures_since(window_start, LoginAttempt.ip == attempt.ip) > MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts("Too many failed sign-ins. Wait 15 minutes and try again.")

    user = db.session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None else None
    hasher, dummy_hash = _argon2()
    try:
        hasher.verify(stored or dummy_hash, password)
        verified = True
    except (VerificationError, InvalidHashError):
        verified = False
    if user is None or stored is None or not verified:
        raise LoginRefused("The email or password is not right.")
    if not user.active:
        raise LoginRefused("This account is disabled. Ask your administrator to enable it.")
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    attempt.succeeded = True
    user.last_login_at = now
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    db.session.commit()
    return user


def start_session(user: User, *, remember: bool, ip: str | None, user_agent: str | None) -> str:
    """A new server-side session for the user; sets user.session_token for Flask-Login."""
    now = utcnow()
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"] if remember else current_app.config["SESSION_LIFETIME"]
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at < now))
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=now + lifetime,
            ip=(ip or "")[:45],
            user_agent=(user_agent or "")[:200],
        )
    )
    db.session.commit()
    user.session_token = token
    return token


def load_session(token: str | None) -> User | None:
    """The active user whose unexpired session this token is, or None."""
    if not token or len(token) > 100:
        return None
    session = db.session.scalar(
        select(UserSession)
        .where(UserSession.token_hash == token_hash(token))
        .options(joinedload(UserSession.user, innerjoin=True))
    )
    if session is None or session.expires_at <= utcnow():
        return None
    user = session.user
    if not user.is_active:
        return None
    user.session_token = token
    return user


def end_session(token: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))
    db.session.commit()


def end_other_sessions(user: User, keep_token: str | None = None) -> None:
    """Sign the user out everywhere (but for the session keep_token, if given); the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_token:
        statement = statement.where(UserSession.token_hash != token_hash(keep_token))
    db.session.execute(statement)
