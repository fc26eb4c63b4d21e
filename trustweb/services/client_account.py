"""What a client sees of their own account in the portal, every query narrowed to their contact.

An id that is not the client's (another client's request, invoice, ledger or receipt, or a draft not yet sent
to them) is answered exactly as an id that does not exist: None, which the portal turns into a 404.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from trustweb.extensions import db
from trustweb.models import (
    Contact,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    LedgerAccount,
    Payable,
    Payment,
    PaymentStatus,
    RequestStatus,
    SavedMethod,
    TrustRequest,
)
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.models.requests import OUTSTANDING
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services import requests as request_service
from trustweb.services.payments import lock_payable
from trustweb.services.portal import client_actor
from trustweb.services.reports import Filters, Report

# What a portal "Pay" button's link lasts: long enough to pay, short enough that it does not lie about.
PORTAL_PAY_LINK_LIFETIME = timedelta(days=1)
# Payments a client has a receipt for.
RECEIPTED = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED)


@dataclass
class Home:
    requests: list[TrustRequest]
    invoices: list[Invoice]
    ledgers: list[LedgerAccount]
    several_accounts: bool  # the client's money is in more than one trust account: each line names its account


def _requests(contact: Contact) -> Select[tuple[TrustRequest]]:
    return (
        select(TrustRequest)
        .where(TrustRequest.contact_id == contact.id, TrustRequest.status != RequestStatus.DRAFT)
        .options(joinedload(TrustRequest.matter), joinedload(TrustRequest.bank_account))
    )


def _invoices(contact: Contact) -> Select[tuple[Invoice]]:
    return (
        select(Invoice)
        .where(Invoice.contact_id == contact.id, Invoice.status != InvoiceStatus.DRAFT)
        .options(
            joinedload(Invoice.matter),
            selectinload(Invoice.applications),
            # its currency: the operating account's it is owed to
            joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account),
        )
    )


def ledgers(contact: Contact) -> list[LedgerAccount]:
    """The client's trust ledgers: one per matter (and one for funds held without a matter) in each account."""
    return list(
        db.session.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.kind == "client", LedgerAccount.contact_id == contact.id)
            .options(joinedload(LedgerAccount.matter), joinedload(LedgerAccount.bank_account))
            .order_by(LedgerAccount.matter_id.is_(None), LedgerAccount.matter_id.desc(), LedgerAccount.bank_account_id)
        )
    )


def home(contact: Contact) -> Home:
    """The portal's first page: what is open to pay, and what is held in trust."""
    open_requests = db.session.scalars(
        _requests(contact).where(TrustRequest.status.in_(OUTSTANDING)).order_by(TrustRequest.due_on, TrustRequest.id)
    ).all()
    open_invoices = db.session.scalars(
        _invoices(contact).where(Invoice.status.in_(OPEN_INVOICE)).order_by(Invoice.due_on, Invoice.id)
    ).all()
    held = ledgers(contact)
    return Home(list(open_requests), list(open_invoices), held, len({ledger.bank_account_id for ledger in held}) > 1)


def own_request(contact: Contact, request_id: int) -> TrustRequest | None:
    return db.session.scalar(_requests(contact).where(TrustRequest.id == request_id))


def own_invoice(contact: Contact, invoice_id: int) -> Invoice | None:
    return db.session.scalar(_invoices(contact).where(Invoice.id == invoice_id))


def own_ledger(contact: Contact, ledger_id: int) -> LedgerAccount | None:
    return db.session.scalar(
        select(LedgerAccount)
        .where(LedgerAccount.id == ledger_id, LedgerAccount.kind == "client", LedgerAccount.contact_id == contact.id)
        .options(joinedload(LedgerAccount.matter), joinedload(LedgerAccount.bank_account))
    )


def _payments(contact: Contact) -> Select[tuple[Payment]]:
    # Found from the client's requests and invoices, each through its contact's index and then the payment's: an
    # outer join of both with a filter on either contact read every payment and request of the firm.
    theirs = union_all(
        select(Payment.id)
        .join(TrustRequest, TrustRequest.id == Payment.trust_request_id)
        .where(TrustRequest.contact_id == contact.id),
        select(Payment.id).join(Invoice, Invoice.id == Payment.invoice_id).where(Invoice.contact_id == contact.id),
    )
    return (
        select(Payment)
        .where(Payment.id.in_(theirs), Payment.status.in_(RECEIPTED), Payment.receipt_number.is_not(None))
        .options(
            joinedload(Payment.request).joinedload(TrustRequest.matter),
            joinedload(Payment.invoice).joinedload(Invoice.matter),
            joinedload(Payment.bank_account),
        )
    )


def own_payment(contact: Contact, payment_id: int) -> Payment | None:
    return db.session.scalar(_payments(contact).where(Payment.id == payment_id))


def own_method(contact: Contact, method_id: int) -> SavedMethod | None:
    """One of the client's saved methods still in use; another client's, or a removed one, is None."""
    return db.session.scalar(
        select(SavedMethod).where(
            SavedMethod.id == method_id, SavedMethod.contact_id == contact.id, SavedMethod.removed_at.is_(None)
        )
    )


@dataclass
class Documents:
    requests: list[TrustRequest]
    invoices: list[Invoice]
    payments: list[Payment]


def documents(contact: Contact) -> Documents:
    """Every request and invoice sent to the client, newest first, and every payment they have a receipt for."""
    return Documents(
        list(db.session.scalars(_requests(contact).order_by(TrustRequest.issued_on.desc(), TrustRequest.id.desc()))),
        list(db.session.scalars(_invoices(contact).order_by(Invoice.issued_on.desc(), Invoice.id.desc()))),
        list(db.session.scalars(_payments(contact).order_by(Payment.received_on.desc(), Payment.id.desc()))),
    )


def statement(ledger: LedgerAccount, date_from: date | None, date_to: date | None, today: date) -> Report:
    """The ledger's lines over the range, with opening, running and closing balances: the client ledger report
    the firm's own books give, for one of the client's ledgers."""
    from trustweb.services.ledger_reports import client_ledger

    filters = Filters(
        date_from=date_from,
        date_to=date_to,
        account=ledger.bank_account,
        matter=ledger.matter,
        contact=ledger.contact if ledger.matter is None else None,
    )
    return client_ledger(filters, today)


def pay_link(contact: Contact, payable: Payable) -> str:
    """A fresh pay link for one of the client's own open requests or invoices (the portal's Pay button); the
    payment then goes through the pay link's page, processor and checks like any other. Returns its path."""
    payable = lock_payable(payable)
    if not payable.is_open or payable.payable_cents <= 0:
        raise ServiceError(f"{payable.number} has nothing left to pay.")
    path = request_service.new_link(payable, lifetime=PORTAL_PAY_LINK_LIFETIME, external=False)
    audit.record("portal.pay_link", payable, after={"lifetime_hours": 24}, actor=client_actor(contact))
    db.session.commit()
    return path


def viewed(contact: Contact, obj: object, what: str) -> None:
    """Record that the client opened or downloaded one of their documents (the caller commits)."""
    audit.record(
        "portal.viewed",
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        after={"what": what},
        actor=client_actor(contact),
    )
