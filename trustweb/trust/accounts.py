"""A trust account's page: who its money belongs to, and its journal, each a page at a time.

Both read what the books keep up to date, so the page costs the same for ten matters or ten thousand: the
balances stored on the ledgers (never a sum of journal lines), and the journal by keyset, the line ids at a page's
edges, with no count of every line the bank ledger ever had.
"""

from dataclasses import dataclass

from flask import request
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload, with_expression

from trustweb.extensions import db
from trustweb.forms import query_id
from trustweb.ledger.rules import LedgerKind
from trustweb.models import Contact, JournalLine, LedgerAccount, Matter
from trustweb.services.clients import name_contains
from trustweb.services.reports import HELD_KINDS  # clients', the firm's, what the firm owes: the bank's, in all
from trustweb.views import MAX_PAGE, contains, paginate

HELD_FILTERS = {"held": "Holding money", "all": "Every ledger"}
JOURNAL_PAGE = 50
# The ledgers listed as holding money. The firm's stays in sight even when empty: it is where the firm puts money for
# bank charges.
HOLDING = or_(LedgerAccount.balance_cents != 0, LedgerAccount.kind == LedgerKind.FIRM)


def held_filter():
    """?show=: the ledgers holding money (the default: a closed matter's empty ledger is not news), or all."""
    show = request.args.get("show", "held")
    return show if show in HELD_FILTERS else "held"


def held_ledgers(account, query="", show="held"):
    """The account's held ledgers, the firm's own first, then by balance, largest first (as the page always listed
    them); matching the text by client, matter number or description. The order is the ledger row's own, so a page
    is sorted without joining every client and matter: its own rows' come after, by id (selectinload)."""
    statement = (
        select(LedgerAccount)
        .where(LedgerAccount.bank_account_id == account.id, LedgerAccount.kind.in_(HELD_KINDS))
        .options(selectinload(LedgerAccount.contact), selectinload(LedgerAccount.matter))
        .order_by(LedgerAccount.kind.desc(), LedgerAccount.balance_cents.desc(), LedgerAccount.id)
    )
    if show == "held":
        statement = statement.where(HOLDING)
    if query:
        # The clients and matters that match, each table searched once, rather than every ledger joined to its client
        # and matter and then searched (a third of the time on PostgreSQL at 10,000 matters).
        clients = select(Contact.id).where(name_contains(query))
        matters = select(Matter.id).where(or_(contains(Matter.number, query), contains(Matter.description, query)))
        statement = statement.where(or_(LedgerAccount.contact_id.in_(clients), LedgerAccount.matter_id.in_(matters)))
    return statement


def held_page(statement, total=None):
    """A page of held ledgers. Unsearched, the total is known (held_totals); a search counts its matches in the same
    statement as its page (count(*) OVER ()), rather than matching every client and matter a second time."""
    if total is not None:
        return paginate(statement, total=total)
    page = paginate(statement.options(with_expression(LedgerAccount.found, func.count().over())), total=0)
    if page.items:
        page.total = page.items[0].found
    elif page.page > 1:  # beyond the last page: the pager still says how many there are
        page.total = paginate(statement).total
    return page


@dataclass
class HeldTotals:
    held_cents: int  # the stored balances of every held ledger, added up by the database
    has_firm_ledger: bool
    counts: dict[str, int]  # how many ledgers each filter lists (with no search)


def held_totals(account):
    """What the account's ledgers hold in all, from their stored balances, and how many each filter lists: one
    statement, so the unsearched list's pager needs no count of its own."""

    def counted(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    total, firm, holding, every = db.session.execute(
        select(
            func.coalesce(func.sum(LedgerAccount.balance_cents), 0),
            counted(LedgerAccount.kind == LedgerKind.FIRM),
            counted(HOLDING),
            func.count(),
        ).where(LedgerAccount.bank_account_id == account.id, LedgerAccount.kind.in_(HELD_KINDS))
    ).one()
    return HeldTotals(int(total), bool(firm), {"held": int(holding), "all": int(every)})


@dataclass
class JournalPage:
    """A page of a ledger's lines, newest first, and whether there are newer and older ones. Its links name a line
    (?before=, ?after=), so a link keeps showing the same lines however many are booked after it."""

    items: list[JournalLine]
    has_newer: bool
    has_older: bool

    @property
    def newer(self):
        return {"after": self.items[0].id} if self.items else {}

    @property
    def older(self):
        return {"before": self.items[-1].id}


def journal_page(ledger, per_page=JOURNAL_PAGE):
    """The page the query string asks for: ?before=<line> (older lines), ?after=<line> (newer), or ?page=N (links
    made before the keyset, read by offset); the newest lines otherwise. One statement, PAGE + 1 rows: the extra
    row says whether there is more, in place of a count of every line."""
    lines = (
        select(JournalLine)
        .where(JournalLine.ledger_account_id == (ledger.id if ledger is not None else -1))
        .options(joinedload(JournalLine.entry))
    )
    newest_first = lines.order_by(JournalLine.id.desc()).limit(per_page + 1)
    after = query_id("after", "journal line")
    if after:
        found = db.session.scalars(lines.where(JournalLine.id > after).order_by(JournalLine.id).limit(per_page + 1))
        newer = found.all()
        if len(newer) > per_page:
            return JournalPage(newer[per_page - 1 :: -1], has_newer=True, has_older=True)
        # Fewer than a page after it: that is the newest page, shown whole.
    before = None if after else query_id("before", "journal line")
    if before:
        found = db.session.scalars(newest_first.where(JournalLine.id < before)).all()
        return JournalPage(found[:per_page], has_newer=True, has_older=len(found) > per_page)
    page = 1 if after else request.args.get("page", 1, type=int)
    page = page if 1 <= page <= MAX_PAGE else 1
    found = db.session.scalars(newest_first.offset((page - 1) * per_page)).all()
    return JournalPage(found[:per_page], has_newer=page > 1, has_older=len(found) > per_page)
