"""gen_* factories that build real rows through the models (call inside an app context)."""

import itertools
from dataclasses import dataclass

from tests.dates import days_ago
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, User
from trustweb.services.clients import save_matter
from trustweb.services.sessions import password_hasher

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
        _HASH[PASSWORD] = password_hasher().hash(PASSWORD)
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
        "opened_on": opened_on or days_ago(365),
        **fields,
    }
    return saved(save_matter(None, values))


def gen_account(name=None, kind="trust", is_default=False, **fields):
    account = BankAccount(
        name=name or f"{kind.title()} {next(_seq)}",
        kind=kind,
        is_iolta=fields.pop("is_iolta", kind == "trust"),
        currency=fields.pop("currency", "USD"),
        is_default=is_default,
        **fields,
    )
    return saved(account)


@dataclass(frozen=True)
class TrustSetup:
    """Ids for a trust account, a lawyer, client A with two matters and client B with one."""

    account: int
    lawyer: int
    client_a: int
    matter_a1: int
    matter_a2: int
    client_b: int
    matter_b1: int


def gen_trust_setup():
    """A default trust account and two clients to hold money for; returns their ids."""
    lawyer = gen_user("lawyer")
    account = gen_account("Client Trust (IOLTA)")
    client_a, client_b = gen_contact("Ada Archer"), gen_contact("Ben Baker")
    a1 = gen_matter(client_a, lawyer, description="Purchase of 12 Elm St")
    a2 = gen_matter(client_a, lawyer, description="Estate of H. Archer")
    b1 = gen_matter(client_b, lawyer, description="Baker v. Coastal Insurance")
    return TrustSetup(account.id, lawyer.id, client_a.id, a1.id, a2.id, client_b.id, b1.id)


def trust_ledger(account_id, holder):
    """The LedgerAccount row holding a holder's money in a trust account (None if never used)."""
    from trustweb.models import LedgerAccount

    return db.session.scalar(db.select(LedgerAccount).where(LedgerAccount.key == holder.key(account_id)))


def bank_and_held_totals(account_id):
    """(bank ledger balance, sum of its client and firm ledgers) for a trust account: invariant 4."""
    from trustweb.models import LedgerAccount

    ledgers = db.session.scalars(db.select(LedgerAccount).where(LedgerAccount.bank_account_id == account_id)).all()
    bank = sum(ledger.balance_cents for ledger in ledgers if ledger.kind == "bank")
    held = sum(ledger.balance_cents for ledger in ledgers if ledger.kind in ("client", "firm"))
    return bank, held


def row_counts():
    """How many rows the journal, clearances, ledgers and audit trail hold."""
    from trustweb.models import AuditEvent, DepositClearance, JournalEntry, JournalLine, LedgerAccount

    models = (JournalEntry, JournalLine, DepositClearance, LedgerAccount, AuditEvent)
    return {m.__tablename__: db.session.scalar(db.select(db.func.count()).select_from(m)) for m in models}
