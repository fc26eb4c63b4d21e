"""Whose ledger a trust page is about (a matter, a client's general funds, or the firm), and its lines."""

from dataclasses import dataclass

from flask import abort, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.forms import choices, parse_id, query_id
from trustweb.models import BankAccount, Contact, JournalEntry, JournalLine, LedgerAccount, Matter, MatterStatus
from trustweb.refusals import ServiceError
from trustweb.services.trust import FIRM, Holder, holder_for
from trustweb.views import get_or_404, paginate

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
    """The page of a held ledger."""
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


MAX_LISTED = 200  # other clients' open matters listed by name; beyond this, typed by number
OTHER = "other"


def destinations(scope):
    """Where money in this ledger may be transferred: the client's other ledgers first, then other clients'."""
    same, others = [], []
    if scope.kind in ("matter", "client"):
        if scope.kind == "matter":
            same.append((f"client:{scope.contact.id}", f"{scope.contact.name} – client funds (no matter)"))
        for matter in scope.contact.matters:
            if matter.status == MatterStatus.OPEN and (scope.matter is None or matter.id != scope.matter.id):
                same.append((f"matter:{matter.id}", f"{matter.number} · {matter.description}"))
    rows = db.session.execute(
        select(Matter.id, Matter.number, Contact.name)
        .join(Matter.client)
        .where(Matter.status == MatterStatus.OPEN, Matter.client_id != (scope.contact.id if scope.contact else -1))
        .order_by(Contact.name, Matter.number)
        .limit(MAX_LISTED + 1)
    ).all()
    if len(rows) > MAX_LISTED:
        # A large firm: a list of every open matter would weigh megabytes; the number is typed instead.
        others = [(OTHER, "Another client's matter: type its number below")]
    else:
        others = [(f"matter:{mid}", f"{name} · {number}") for mid, number, name in rows]
    options = choices([("", "Choose a ledger…")])
    options += choices(same)
    for c in choices(others):
        c.optgroup = "Other clients (a reason is required)"
        options.append(c)
    return options


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
