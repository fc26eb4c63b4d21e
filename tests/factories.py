"""gen_* factories that build real rows through the models (call inside an app context)."""

import itertools
from datetime import date

from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, User
from trustweb.services.clients import save_matter
from trustweb.services.sessions import hasher

PASSWORD = "correct horse battery staple"
_HASH = {}
_seq = itertools.count(1)


def saved(obj):
    """Commit, load every column and detach, so the object stays readable after later commits."""
    db.session.add(obj)
    db.session.commit()
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


def password_hash():
    # Argon2 is slow on purpose; one hash serves every test user.
    if PASSWORD not in _HASH:
        _HASH[PASSWORD] = hasher.hash(PASSWORD)
    return _HASH[PASSWORD]


def gen_user(role="lawyer", email=None, name=None, active=True):
    n = next(_seq)
    user = User(
        email=email or f"{role}{n}@firm.example.com",
        name=name or f"{role.title()} {n}",
        role=role,
        password_hash=password_hash(),
        active=active,
    )
    return saved(user)


def gen_contact(name=None, email=None, **fields):
    n = next(_seq)
    contact = Contact(kind="person", name=name or f"Client {n}", email=email or f"client{n}@example.com", **fields)
    return saved(contact)


def gen_matter(client=None, lawyer=None, description=None, opened_on=None, **fields):
    client = client or gen_contact()
    lawyer = lawyer or gen_user("lawyer")
    values = {
        "client_id": client.id,
        "lawyer_id": lawyer.id,
        "description": description or f"Matter for {client.name}",
        "opened_on": opened_on or date(2026, 3, 1),
        **fields,
    }
    return saved(save_matter(None, values))


def gen_account(name=None, kind="trust", is_default=False, **fields):
    account = BankAccount(
        name=name or f"{kind.title()} {next(_seq)}",
        kind=kind,
        is_iolta=fields.pop("is_iolta", kind == "trust"),
        currency="USD",
        is_default=is_default,
        **fields,
    )
    return saved(account)
