"""Invoices: drafted with exact line amounts, sent with a pay link as a receivable of the operating account.

Payments by card or by hand are in payments.py (the same as a trust request's, into operating);
paying them from the client's trust is in invoice_trust.py.
"""

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger.keys import income_key, receivable_key
from trustweb.ledger.money import MAX_CENTS, format_cents
from trustweb.models import (
    ApplicationStatus,
    BankAccount,
    Counter,
    FirmSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    User,
)
from trustweb.models.base import utcnow
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services import requests as request_service
from trustweb.services import templates as email_templates
from trustweb.services.firm import currency_of, default_account
from trustweb.services.journal import book_entry, lock_operating
from trustweb.services.portal import with_portal_note
from trustweb.services.trust import firm_today

FIELDS = ("number", "matter_id", "contact_id", "status", "issued_on", "due_on", "total_cents", "paid_cents")


def line_amount(quantity_hundredths: int, rate_cents: int) -> int:
    """Quantity (in hundredths) times rate, to the cent, rounded half up; integers only."""
    return (quantity_hundredths * rate_cents + 50) // 100


def _check(values: Mapping[str, Any]) -> int:
    matter = values["matter"]
    if matter is None:
        raise ServiceError("Choose the matter the invoice is for.")
    if values["due_on"] is not None and values["due_on"] < values["issued_on"]:
        raise ServiceError("The due date cannot be before the issue date.")
    if not values["lines"]:
        raise ServiceError("Add at least one line: what was done, and for how much.")
    total = sum(line_amount(line["quantity_hundredths"], line["rate_cents"]) for line in values["lines"])
    if total > MAX_CENTS:
        raise ServiceError("The invoice's total is too large.")
    return total


def _apply(invoice: Invoice, values: Mapping[str, Any], total: int) -> None:
    invoice.matter_id, invoice.contact_id = values["matter"].id, values["matter"].client_id
    invoice.issued_on, invoice.due_on, invoice.notes = values["issued_on"], values["due_on"], values["notes"]
    invoice.lines = [
        InvoiceLine(
            position=position,
            line_date=line["line_date"],
            description=line["description"],
            kind=line["kind"],
            quantity_hundredths=line["quantity_hundredths"],
            rate_cents=line["rate_cents"],
            amount_cents=line_amount(line["quantity_hundredths"], line["rate_cents"]),
        )
        for position, line in enumerate(values["lines"], start=1)
    ]
    invoice.total_cents = total


def create_invoice(values: Mapping[str, Any], user: User) -> Invoice:
    total = _check(values)
    invoice = Invoice(status=InvoiceStatus.DRAFT, paid_cents=0, created_by_id=user.id)
    _apply(invoice, values, total)
    invoice.number = f"INV-{Counter.next_value('invoice'):06d}"
    db.session.add(invoice)
    db.session.flush()
    audit.record("invoice.created", invoice, after=audit.snapshot(invoice, FIELDS), user=user)
    db.session.commit()
    return invoice


def lock(invoice: Invoice) -> Invoice:
    return db.session.execute(
        select(Invoice).where(Invoice.id == invoice.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def update_invoice(invoice: Invoice, values: Mapping[str, Any], user: User) -> Invoice:
    invoice = lock(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ServiceError(f"{invoice.number} has been sent; only a draft can be changed.")
    total = _check(values)
    before = audit.snapshot(invoice, FIELDS)
    _apply(invoice, values, total)
    db.session.flush()
    audit.record("invoice.updated", invoice, before=before, after=audit.snapshot(invoice, FIELDS), user=user)
    db.session.commit()
    return invoice


def operating_account() -> BankAccount:
    """The firm's operating account, which invoices are paid into; refused when there is none (or it is closed)."""
    operating = default_account("operating")
    if operating is None or not operating.active:
        raise ServiceError("Add the firm's operating account first: invoices are paid into it.")
    return operating


def send_invoice(invoice: Invoice, user: User) -> Invoice:
    """The invoice goes to the client with a pay link, through the outbox. The first time, it is owed to the firm
    from then on (a receivable of the operating account); an open invoice may be sent again with a new link."""
    invoice = lock(invoice)
    if invoice.status not in (InvoiceStatus.DRAFT, *OPEN_INVOICE):
        raise ServiceError(f"{invoice.number} is {invoice.status_label.lower()}; it is not sent again.")
    if invoice.total_cents <= 0:
        raise ServiceError("An invoice for nothing is not sent.")
    recipients = invoice.recipient_list
    if not recipients:
        raise ServiceError(f"{invoice.contact.name} has no email address; add one to send the invoice.")
    first = invoice.status == InvoiceStatus.DRAFT
    if first:
        _book_receivable(invoice, user)
    link_url = request_service.new_link(invoice, user)
    subject, text, html = invoice_email(invoice, link_url)
    mail.queue(
        "invoice", recipients, subject, text, html, about=invoice, reply_to=mail.reply_to(invoice), link_url=link_url
    )
    invoice.sent_at = utcnow()
    audit.record(
        "invoice.sent" if first else "invoice.sent_again",
        invoice,
        after={"status": invoice.status, "to": recipients},
        user=user,
    )
    db.session.commit()
    return invoice


def _book_receivable(invoice: Invoice, user: User | None) -> None:
    operating = operating_account()
    ledgers = lock_operating(
        operating, {receivable_key(operating.id): "receivable", income_key(operating.id): "income"}
    )
    entry = book_entry(
        "operating.invoice",
        [(ledgers["receivable"], invoice.total_cents), (ledgers["income"], -invoice.total_cents)],
        kind="deposit",
        account=operating,
        entry_date=firm_today(),
        user=user,
        description=f"Invoice {invoice.number} to {invoice.contact.name}",
        method="other",
        counterparty=invoice.contact.name,
        reference=invoice.number,
    )
    invoice.receivable_entry_id = entry.id
    invoice.status = InvoiceStatus.SENT


def common_values(invoice: Invoice, firm: FirmSettings) -> dict[str, str]:
    """The merge fields every email about an invoice has (the invoice itself and the trust notices)."""
    return {
        "client_name": invoice.contact.name,
        "matter": f"{invoice.matter.number} · {invoice.matter.description}",
        "firm_name": firm.firm_name,
        "lawyer": invoice.lawyer.name,
        "invoice_number": invoice.number,
        "invoice_total": format_cents(invoice.total_cents, currency_of(invoice.bank_account)),
    }


def invoice_email(invoice: Invoice, link_url: str) -> tuple[str, str, Markup]:
    """(subject, text, html) of the invoice email around its pay link, with the invoice's figures of now."""
    return with_portal_note(invoice.contact, email_templates.fill("invoice", merge_values(invoice, link_url)))


def merge_values(invoice: Invoice, link_url: str) -> dict[str, str]:
    """The invoice email's merge fields."""
    firm = FirmSettings.get()
    currency = currency_of(invoice.bank_account)
    lines = "\n".join(
        f"  {line.line_date.isoformat()}  {line.description}  {format_cents(line.amount_cents, currency)}"
        for line in invoice.lines
    )
    return {
        **common_values(invoice, firm),
        "amount_due": format_cents(invoice.payable_cents, currency),
        "due_date": invoice.due_on.strftime("%B %-d, %Y") if invoice.due_on else "on receipt",
        "invoice_lines": lines,
        "notes": invoice.notes or "",
        "pay_link": link_url,
    }


def void_invoice(invoice: Invoice, reason: str | None, user: User) -> Invoice:
    """Cancel an invoice nothing was paid on; a sent one's receivable is reversed, pointing at the original."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the invoice is void.")
    invoice = lock(invoice)
    if invoice.status == InvoiceStatus.VOID:
        raise ServiceError(f"{invoice.number} is already void.")
    if invoice.paid_cents or any(a.status == ApplicationStatus.SCHEDULED for a in invoice.applications):
        raise ServiceError(f"{invoice.number} has payments (or a payment from trust on notice); it cannot be voided.")
    request_service.revoke_links(invoice, user, reason="voided")
    if invoice.receivable_entry_id:
        original = db.session.get_one(JournalEntry, invoice.receivable_entry_id)
        operating = original.bank_account
        ledgers = lock_operating(
            operating, {line.ledger_account.key: line.ledger_account.kind for line in original.lines}
        )
        book_entry(
            "operating.invoice_void",
            [(ledgers[line.ledger_account.kind], -line.amount_cents) for line in original.lines],
            kind="reversal",
            account=operating,
            entry_date=firm_today(),
            user=user,
            description=f"Reversal of {original.number}: invoice {invoice.number} void ({reason})",
            reverses_id=original.id,
        )
    before = invoice.status
    invoice.status, invoice.void_reason = InvoiceStatus.VOID, reason
    audit.record(
        "invoice.voided",
        invoice,
        before={"status": before},
        after={"status": InvoiceStatus.VOID, "reason": reason},
        user=user,
    )
    db.session.commit()
    return invoice
