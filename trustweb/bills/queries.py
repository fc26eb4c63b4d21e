"""The trust request list: filters, totals and the lists on contact and matter pages."""

import re
from dataclasses import dataclass
from datetime import date

from flask import request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from trustweb.extensions import db
from trustweb.forms import query_date, query_id
from trustweb.models import BankAccount, Contact, Matter, TrustRequest, User
from trustweb.models.requests import OUTSTANDING, PAYABLE, REQUEST_STATUSES
from trustweb.services.clients import name_contains
from trustweb.services.trust import firm_today
from trustweb.views import contains, search_text

STATUS_FILTERS = {"open": "Open", "overdue": "Overdue", **REQUEST_STATUSES, "all": "All"}
REQUEST_NUMBER = re.compile(r"TR-?(\d{1,6})")


@dataclass
class RequestFilters:
    status: str = "open"
    lawyer_id: int | None = None
    q: str = ""
    issued_from: date | None = None
    issued_to: date | None = None

    @classmethod
    def from_args(cls):
        status = request.args.get("status", "open")
        return cls(
            status=status if status in STATUS_FILTERS else "open",
            lawyer_id=query_id("lawyer", "lawyer"),
            q=search_text(),
            issued_from=query_date("from"),
            issued_to=query_date("to"),
        )

    def args(self):
        """The filters as query arguments, for the pager and the print and export links."""
        values = {"status": self.status, "lawyer": self.lawyer_id, "q": self.q or None}
        values["from"] = self.issued_from.isoformat() if self.issued_from else None
        values["to"] = self.issued_to.isoformat() if self.issued_to else None
        return {key: value for key, value in values.items() if value is not None}

    def where(self, statement, today):
        """The filters applied to a statement selecting from trust_request.

        Client and matter conditions are subqueries on their ids, not joins, so the
        database still walks trust requests by id (newest first) and stops at a page.
        """
        if self.status == "open":
            statement = statement.where(TrustRequest.status.in_(PAYABLE))
        elif self.status == "overdue":
            statement = statement.where(TrustRequest.status.in_(OUTSTANDING), TrustRequest.due_on < today)
        elif self.status != "all":
            statement = statement.where(TrustRequest.status == self.status)
        if self.lawyer_id:
            # The lawyer on the matter; for client funds, whoever made the request.
            statement = statement.where(
                TrustRequest.matter_id.in_(select(Matter.id).where(Matter.lawyer_id == self.lawyer_id))
                | (TrustRequest.matter_id.is_(None) & (TrustRequest.created_by_id == self.lawyer_id))
            )
        if self.q:
            number = REQUEST_NUMBER.fullmatch(self.q.upper())
            if number:
                statement = statement.where(*number_range(number.group(1)))
            else:
                statement = statement.where(
                    TrustRequest.contact_id.in_(select(Contact.id).where(name_contains(self.q)))
                    | TrustRequest.matter_id.in_(select(Matter.id).where(contains(Matter.number, self.q)))
                )
        if self.issued_from:
            statement = statement.where(TrustRequest.issued_on >= self.issued_from)
        if self.issued_to:
            statement = statement.where(TrustRequest.issued_on <= self.issued_to)
        return statement


def number_range(digits):
    """Conditions on the request number, served by its unique index: "TR-12" is TR-000012,
    "TR-0012" (leading zero) every number that starts so, TR-001200 to TR-001299."""
    if len(digits) < 6 and not digits.startswith("0"):
        return (TrustRequest.number == f"TR-{digits.zfill(6)}",)
    prefix = f"TR-{digits}"
    return TrustRequest.number >= prefix, TrustRequest.number < prefix + "~"  # "~" sorts after every digit


def filtered(filters):
    """The requests the filters select, newest first, with client and matter loaded."""
    # Loaded for the page's 25 rows only; joining them here would keep SQLite from walking the ids newest first.
    statement = (
        select(TrustRequest)
        .options(
            selectinload(TrustRequest.contact),
            selectinload(TrustRequest.matter).joinedload(Matter.lawyer),
            selectinload(TrustRequest.created_by),
        )
        .order_by(TrustRequest.id.desc())
    )
    return filters.where(statement, firm_today())


def totals(filters):
    """Outstanding (asked, not yet paid, on requests that went out) and overdue, over the filtered requests, per
    currency ({"USD": cents}); summed by account, whose rows this loads so that the page's requests find theirs
    without a query each."""
    today = firm_today()
    due = TrustRequest.amount_cents - TrustRequest.paid_cents
    outstanding = TrustRequest.status.in_(OUTSTANDING)
    statement = (
        select(
            BankAccount,
            func.count(),
            func.coalesce(func.sum(db.case((outstanding, due), else_=0)), 0),
            func.coalesce(func.sum(db.case((outstanding & (TrustRequest.due_on < today), due), else_=0)), 0),
        )
        .select_from(TrustRequest)
        .join(BankAccount, BankAccount.id == TrustRequest.bank_account_id)
        .group_by(BankAccount.id)
    )
    # The accounts are kept with the totals: the session holds loaded rows only while something refers to them.
    summed = {"count": 0, "outstanding": {}, "overdue": {}, "accounts": []}
    for account, count, outstanding_cents, overdue_cents in db.session.execute(filters.where(statement, today)):
        summed["accounts"].append(account)
        summed["count"] += count
        for key, cents in (("outstanding", outstanding_cents), ("overdue", overdue_cents)):
            if cents:  # a currency with nothing outstanding is not named (nothing at all is zero, in the firm's)
                summed[key][account.currency] = summed[key].get(account.currency, 0) + int(cents)
    return summed


def lawyers():
    return db.session.scalars(select(User).where(User.role.in_(("lawyer", "admin"))).order_by(User.name)).all()


def requests_for(*, contact=None, matter=None, limit=50):
    statement = (
        select(TrustRequest)
        .options(
            joinedload(TrustRequest.matter), joinedload(TrustRequest.contact), joinedload(TrustRequest.bank_account)
        )
        .order_by(TrustRequest.id.desc())
        .limit(limit)
    )
    if matter is not None:
        statement = statement.where(TrustRequest.matter_id == matter.id)
    if contact is not None:
        statement = statement.where(TrustRequest.contact_id == contact.id)
    return db.session.scalars(statement).all()
