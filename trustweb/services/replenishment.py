"""Evergreen top-ups asked for automatically: the worker's pass over matters that say "ask automatically".

For each such open matter, under its open replenishment request's lock where there is one:
- below its minimum with no replenishment request open: a trust request for the top-up (back to the target) is
  made in the responsible lawyer's name and emailed to the client through the outbox;
- below it with one open and nothing paid on it yet: its amount follows the balance;
- back at or above the minimum with one open and nothing paid: it is withdrawn (voided, its links revoked).
A request the client has started paying is left as it is. The database keeps one replenishment request open per
matter (a partial unique index), so two workers, or a worker and a lawyer, never ask twice.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import BankAccount, LedgerAccount, Matter, MatterStatus, RequestStatus, TrustRequest
from trustweb.models.requests import PAYABLE
from trustweb.refusals import REFUSALS, ServiceError
from trustweb.services import audit, evergreen
from trustweb.services import requests as request_service
from trustweb.services.firm import currency_of, default_account
from trustweb.services.trust import firm_today

DUE_IN = timedelta(days=14)
RESTORED = "The trust balance is back at or above the agreed evergreen minimum."


def open_replenishment(matter: Matter) -> TrustRequest | None:
    return db.session.scalar(
        select(TrustRequest).where(
            TrustRequest.matter_id == matter.id, TrustRequest.replenishes, TrustRequest.status.in_(PAYABLE)
        )
    )


def replenish_all() -> tuple[list[str], list[str]]:
    """One pass over the matters that ask automatically: (what was done, what could not be), in words."""
    matter_ids = db.session.scalars(
        select(Matter.id).where(Matter.evergreen_auto_request, Matter.status == MatterStatus.OPEN).order_by(Matter.id)
    ).all()
    done, refused = [], []
    for matter_id in matter_ids:
        try:
            said = replenish(matter_id)
        except (*REFUSALS, IntegrityError) as error:
            db.session.rollback()
            refused.append(f"matter {matter_id}: {error}")
            continue
        if said:
            done.append(said)
    return done, refused


def replenish(matter_id: int) -> str | None:
    """Ask, change or withdraw one matter's top-up as its balance now stands; what was done, or None."""
    matter = db.session.get(Matter, matter_id, options=[joinedload(Matter.client), joinedload(Matter.lawyer)])
    position = evergreen.of(matter) if matter is not None else None
    if matter is None or position is None:
        return None
    asked = open_replenishment(matter)
    if asked is not None:
        asked = request_service.lock(asked)
    if not position.below_minimum:
        if asked is not None and asked.paid_cents == 0 and asked.status in PAYABLE:
            request_service.void_request(asked, RESTORED, matter.lawyer)
            return f"{asked.number} withdrawn: {matter.number} is back at its minimum."
        db.session.rollback()
        return None
    if asked is None:
        return _ask(matter, position)
    if asked.status == RequestStatus.DRAFT:  # made, but its sending failed on an earlier pass: send it now
        request_service.send_request(asked, matter.lawyer)
        return f"{asked.number} sent: {matter.client.name} asked for the top-up on {matter.number}."
    if asked.paid_cents == 0 and asked.amount_cents != position.top_up_cents:
        before = asked.amount_cents
        asked.amount_cents = position.top_up_cents
        audit.record(
            "request.amount_followed_balance",
            asked,
            before={"amount_cents": before},
            after={"amount_cents": asked.amount_cents, "held_cents": position.held_cents},
        )
        db.session.commit()
        now = _money(asked.amount_cents, asked.bank_account)
        return f"{asked.number} now asks for {now}: {matter.number}'s balance moved."
    db.session.rollback()
    return None


def account_of(matter: Matter) -> BankAccount | None:
    """Where the matter's top-up goes: the trust account holding most of its money, else the firm's default."""
    held = db.session.scalar(
        select(BankAccount)
        .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
        .where(LedgerAccount.kind == "client", LedgerAccount.matter_id == matter.id, BankAccount.active)
        .order_by(LedgerAccount.balance_cents.desc(), BankAccount.id)
        .limit(1)
    )
    return held or default_account("trust")


def _ask(matter: Matter, position: evergreen.Evergreen) -> str:
    account = account_of(matter)
    if not matter.client.email:
        raise ServiceError(f"{matter.client.name} has no email address to ask for the top-up.")
    target = position.target_cents if position.target_cents is not None else position.minimum_cents
    today = firm_today()
    values = {
        "contact": matter.client,
        "matter": matter,
        "account": account,
        "template": None,
        "amount_cents": position.top_up_cents,
        "issued_on": today,
        "due_on": today + DUE_IN,
        "message": (
            f"The money held in trust for {matter.number} ({matter.description}) is "
            f"{_money(position.held_cents, account)}, below the {_money(position.minimum_cents, account)} agreed. "
            f"This request brings it back to {_money(target, account)}."
        ),
        "allow_partial": True,
        "minimum_cents": None,
        "recipients": [matter.client.email],
        "cc": [],
        "replenishes": True,
    }
    request = request_service.create_request(values, matter.lawyer)
    request_service.send_request(request, matter.lawyer)
    asked = _money(request.amount_cents, account)
    return f"{request.number} sent: {matter.client.name} asked for {asked} on {matter.number}."


def _money(cents: int, account: BankAccount | None) -> str:
    return format_cents(cents, currency_of(account) if account is not None else "USD")
