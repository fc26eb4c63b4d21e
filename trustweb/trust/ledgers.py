"""Whose ledger a trust page is about (a matter, a client's general funds, or the firm), and its lines."""

from dataclasses import dataclass

from flask import abort, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.forms import choices, parse_id, query_id
from trustweb.models import BankAccount, Contact, JournalEntry, JournalLine, LedgerAccount, Matter, MatterStatus
from trustweb.refusals import ServiceError
from trustweb.services.clients import name_contains
from trustweb.services.trust import FIRM, Holder, holder_for
from trustweb.views import contains, get_or_404, paginate

SCOPES = ("matter", "client", "firm")


@dataclass
class Scope:
    kind: str
    account: BankAccount | None
    contact: Contact | None = None
    matter: Matter | None = None

    @property
    def holder(self):
        if self.kind == "firm":
            return FIRM
        return holder_for(self.contact, self.matter)

    @property
    def ident(self):
        return {"matter": self.matter, "client": self.contact, "firm": self.account}[self.kind].id

    @property
    def title(self):
        if self.kind == "matter":
            return f"{self.matter.number} · {self.contact.name}"
        if self.kind == "client":
            return f"{self.contact.name} · client funds (no matter)"
        return f"Firm funds in {self.account.name}"

    def url(self, endpoint="trust.ledger", **values):
        if self.kind != "firm" and self.account is not None:
            values.setdefault("account", self.account.id)
        return url_for(endpoint, scope=self.kind, ident=self.ident, **values)

    def ledger(self):
        if self.account is None:
            return None
        return db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == self.holder.key(self.account.id)))


def ledger_url(ledger):
    """The page of a held ledger; None for what the firm owes the account (replaced from the dashboard)."""
    if ledger.kind == "shortfall":
        return None
    if ledger.kind == "firm":
        return url_for("trust.ledger", scope="firm", ident=ledger.bank_account_id)
    if ledger.matter_id:
        return url_for("trust.ledger", scope="matter", ident=ledger.matter_id, account=ledger.bank_account_id)
    return url_for("trust.ledger", scope="client", ident=ledger.contact_id, account=ledger.bank_account_id)


def trust_accounts():
    return db.session.scalars(
        select(BankAccount).where(BankAccount.kind == "trust", BankAccount.active).order_by(BankAccount.name)
    ).all()


def chosen_account():
    """The trust account asked for (?account=), else the firm's default one; None when there is none."""
    account_id = query_id("account", "trust account")
    if account_id:
        account = db.session.get(BankAccount, account_id)
        if account is None or account.kind != "trust":
            abort(404)
        return account
    return db.session.scalar(
        select(BankAccount)
        .where(BankAccount.kind == "trust", BankAccount.active)
        .order_by(BankAccount.is_default.desc(), BankAccount.name)
    )


def resolve(scope, ident):
    if scope == "firm":
        account = get_or_404(BankAccount, ident)
        if account.kind != "trust":
            abort(404)
        return Scope("firm", account)
    if scope == "matter":
        matter = get_or_404(Matter, ident)
        return Scope("matter", chosen_account(), matter.client, matter)
    if scope == "client":
        return Scope("client", chosen_account(), get_or_404(Contact, ident))
    abort(404)


def ledger_lines(ledger, date_from=None, date_to=None):
    """A page of the ledger's lines, newest first, each with its running balance."""
    statement = (
        select(JournalLine)
        .join(JournalLine.entry)
        .where(JournalLine.ledger_account_id == (ledger.id if ledger else -1))
        .options(
            joinedload(JournalLine.entry).selectinload(JournalEntry.clearance),
            joinedload(JournalLine.entry).selectinload(JournalEntry.reversed_by),
            joinedload(JournalLine.ledger_account),
        )
        .order_by(JournalLine.id.desc())
    )
    if date_from:
        statement = statement.where(JournalEntry.entry_date >= date_from)
    if date_to:
        statement = statement.where(JournalEntry.entry_date <= date_to)
    return paginate(statement, per_page=50)


OTHER = "other"
SUGGESTED = 20  # matters offered as the number is typed: a few, never the firm's every open matter


def destinations(scope, chosen=None):
    """Where money in this ledger may be transferred: the client's other ledgers, or another client's matter typed
    by its number (found as it is typed, matter_suggestions). `chosen`, an option a form posted, is kept when it
    is another client's open matter (a form rendered before the number was typed listed them)."""
    same = []
    if scope.kind in ("matter", "client"):
        if scope.kind == "matter":
            same.append((f"client:{scope.contact.id}", f"{scope.contact.name} – client funds (no matter)"))
        for matter in scope.contact.matters:
            if matter.status == MatterStatus.OPEN and (scope.matter is None or matter.id != scope.matter.id):
                same.append((f"matter:{matter.id}", f"{matter.number} · {matter.description}"))
    others = [(OTHER, "Another client's matter: type its number below")]
    kind, _, ident = (chosen or "").partition(":")
    if kind == "matter" and (matter_id := parse_id(ident)) and f"matter:{matter_id}" not in dict(same):
        row = db.session.execute(
            select(Matter.number, Contact.name)
            .join(Matter.client)
            .where(Matter.id == matter_id, Matter.status == MatterStatus.OPEN)
        ).first()
        if row is not None:
            others.append((f"matter:{matter_id}", f"{row.name} · {row.number}"))
    options = choices([("", "Choose a ledger…")])
    options += choices(same)
    for c in choices(others):
        c.optgroup = "Other clients (a reason is required)"
        options.append(c)
    return options


def matter_suggestions(text, except_client=None):
    """The first few open matters whose number, description or client's name holds the text, for the transfer form's
    matter picker: (number, client's name, description)."""
    if not text:
        return []
    statement = (
        select(Matter.number, Contact.name, Matter.description)
        .join(Matter.client)
        .where(
            Matter.status == MatterStatus.OPEN,
            or_(contains(Matter.number, text), name_contains(text), contains(Matter.description, text)),
        )
        .order_by(Matter.number)
        .limit(SUGGESTED)
    )
    if except_client is not None:
        statement = statement.where(Matter.client_id != except_client)
    return db.session.execute(statement).all()


def destination_holder(value, other_number=None):
    if value == OTHER:
        number = (other_number or "").strip()
        matter = db.session.scalar(select(Matter).where(Matter.number == number)) if number else None
        if matter is None:
            raise ServiceError("Type the number of the matter the money goes to, e.g. 2026-0042.")
        return holder_for(matter.client, matter)
    kind, _, text = (value or "").partition(":")
    ident = parse_id(text)
    if ident is None:
        raise ServiceError("Choose where the money goes.")
    if kind == "matter":
        matter = db.session.get(Matter, ident)
        if matter is None:
            raise ServiceError("That matter no longer exists.")
        return holder_for(matter.client, matter)
    if kind == "client":
        contact = db.session.get(Contact, ident)
        if contact is None:
            raise ServiceError("That client no longer exists.")
        return Holder(contact.id, None)
    raise ServiceError("Choose where the money goes.")
