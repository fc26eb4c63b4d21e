"""Invoices: drafted with exact line amounts, sent as a receivable of the operating account, paid by hand.

Paying them from the client's trust is in invoice_trust.py.
"""

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.money import MAX_CENTS, format_cents
from trustweb.models import Counter, FirmSettings, Invoice, InvoiceLine, JournalEntry
from trustweb.models.base import utcnow
from trustweb.services import ServiceError, audit, mail
from trustweb.services.fees import lock_operating
from trustweb.services.firm import default_account
from trustweb.services.trust import _check_date, _post, audit_entry, firm_today

FIELDS = ("number", "matter_id", "contact_id", "status", "issued_on", "due_on", "total_cents", "paid_cents")


def line_amount(quantity_hundredths, rate_cents):
    """Quantity (in hundredths) times rate, to the cent, rounded half up; integers only."""
    return (quantity_hundredths * rate_cents + 50) // 100


def _check(values):
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


def _apply(invoice, values, total):
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


def create_invoice(values, user):
    total = _check(values)
    invoice = Invoice(status="draft", paid_cents=0, created_by_id=user.id)
    _apply(invoice, values, total)
    invoice.number = f"INV-{Counter.next_value('invoice'):06d}"
    db.session.add(invoice)
    db.session.flush()
    audit.record("invoice.created", invoice, after=audit.snapshot(invoice, FIELDS), user=user)
    db.session.commit()
    return invoice


def lock(invoice):
    return db.session.scalar(
        select(Invoice).where(Invoice.id == invoice.id).with_for_update().execution_options(populate_existing=True)
    )


def update_invoice(invoice, values, user):
    invoice = lock(invoice)
    if invoice.status != "draft":
        raise ServiceError(f"{invoice.number} has been sent; only a draft can be changed.")
    total = _check(values)
    before = audit.snapshot(invoice, FIELDS)
    _apply(invoice, values, total)
    db.session.flush()
    audit.record("invoice.updated", invoice, before=before, after=audit.snapshot(invoice, FIELDS), user=user)
    db.session.commit()
    return invoice


def _operating():
    operating = default_account("operating")
    if operating is None or not operating.active:
        raise ServiceError("Add the firm's operating account first: invoices are paid into it.")
    return operating


def send_invoice(invoice, user):
    """The invoice goes to the client: owed to the firm from now (receivable), emailed through the outbox."""
    invoice = lock(invoice)
    if invoice.status != "draft":
        raise ServiceError(f"{invoice.number} has already been sent.")
    if invoice.total_cents <= 0:
        raise ServiceError("An invoice for nothing is not sent.")
    recipients = invoice.contact.emails[:1]
    if not recipients:
        raise ServiceError(f"{invoice.contact.name} has no email address; add one to send the invoice.")
    operating = _operating()
    ledgers = lock_operating(
        operating, {f"receivable:{operating.id}": "receivable", f"income:{operating.id}:fees": "income"}
    )
    entry = JournalEntry(
        kind="deposit",
        bank_account_id=operating.id,
        entry_date=firm_today(),
        description=f"Invoice {invoice.number} to {invoice.contact.name}",
        method="other",
        counterparty=invoice.contact.name,
        reference=invoice.number,
        created_by_id=user.id,
    )
    _post(entry, [(ledgers["receivable"], invoice.total_cents), (ledgers["income"], -invoice.total_cents)])
    audit_entry(entry, "operating.invoice", user)
    invoice.receivable_entry_id = entry.id
    invoice.status = "sent"
    invoice.sent_at = utcnow()
    firm = FirmSettings.get()
    mail.queue(
        "invoice",
        recipients,
        f"{firm.firm_name}: invoice {invoice.number} for {format_cents(invoice.total_cents, firm.currency)}",
        _invoice_text(invoice, firm),
    )
    audit.record("invoice.sent", invoice, after={"status": "sent", "to": recipients}, user=user)
    db.session.commit()
    return invoice


def _invoice_text(invoice, firm):
    lines = "\n".join(
        f"  {line.line_date.isoformat()}  {line.description}  {format_cents(line.amount_cents, firm.currency)}"
        for line in invoice.lines
    )
    due = f"due {invoice.due_on.strftime('%B %-d, %Y')}" if invoice.due_on else "due on receipt"
    return (
        f"Dear {invoice.contact.name},\n\nOur invoice {invoice.number} for {invoice.matter.number} "
        f"{invoice.matter.description}:\n\n{lines}\n\nTotal {format_cents(invoice.total_cents, firm.currency)}, "
        f"{due}.\n\nKind regards,\n{firm.firm_name}\n"
    )


def scheduled_cents(invoice):
    """Trust money already promised to the invoice by a notice, not yet moved."""
    return sum(a.amount_cents for a in invoice.applications if a.status == "scheduled")


def record_invoice_payment(invoice, *, amount_cents, method, received_on, reference, payer, idempotency_key, user):
    """A cheque, wire or cash paid by the client for an invoice: into operating, against the receivable."""
    from trustweb.models import Payment
    from trustweb.services.payments import MANUAL_METHODS

    invoice = lock(invoice)
    earlier = db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if earlier is not None:
        if earlier.invoice_id != invoice.id:
            raise ServiceError("This form belongs to another payment; reload the page and try again.")
        return earlier
    if method not in MANUAL_METHODS:
        raise ServiceError("Choose how the money was paid.")
    if invoice.status not in ("sent", "partially_paid"):
        raise ServiceError(f"{invoice.number} is {invoice.status_label.lower()}; it takes no payment.")
    rules.check_amount(amount_cents)
    due = invoice.due_cents - scheduled_cents(invoice)
    if amount_cents > due:
        raise ServiceError(f"{format_cents(due)} is due on {invoice.number}; record at most that.")
    _check_date(received_on)
    operating = _operating()
    ledgers = lock_operating(
        operating, {f"operating:{operating.id}": "operating", f"receivable:{operating.id}": "receivable"}
    )
    entry = JournalEntry(
        kind="deposit",
        bank_account_id=operating.id,
        entry_date=received_on,
        description=f"Payment for invoice {invoice.number} from {payer}",
        method=method,
        counterparty=payer,
        reference=reference,
        created_by_id=user.id,
    )
    _post(entry, [(ledgers["operating"], amount_cents), (ledgers["receivable"], -amount_cents)])
    audit_entry(entry, "operating.invoice_payment", user)
    payment = Payment(
        idempotency_key=idempotency_key,
        invoice_id=invoice.id,
        bank_account_id=operating.id,
        amount_cents=amount_cents,
        fee_cents=0,
        method=method,
        processor="manual",
        processor_reference=reference,
        status="succeeded",
        payer_name=payer,
        received_on=received_on,
        journal_entry_id=entry.id,
        receipt_number=f"R-{Counter.next_value('receipt'):06d}",
        created_by_id=user.id,
    )
    db.session.add(payment)
    before = {"status": invoice.status, "paid_cents": invoice.paid_cents}
    invoice.paid_cents += amount_cents
    invoice.status = "paid" if invoice.paid_cents == invoice.total_cents else "partially_paid"
    db.session.flush()
    audit.record(
        "invoice.paid",
        invoice,
        before=before,
        after={"status": invoice.status, "paid_cents": invoice.paid_cents},
        user=user,
    )
    db.session.commit()
    return payment


def void_invoice(invoice, reason, user):
    """Cancel an invoice nothing was paid on; a sent one's receivable is reversed, pointing at the original."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the invoice is void.")
    invoice = lock(invoice)
    if invoice.status == "void":
        raise ServiceError(f"{invoice.number} is already void.")
    if invoice.paid_cents or any(a.status == "scheduled" for a in invoice.applications):
        raise ServiceError(f"{invoice.number} has payments (or a payment from trust on notice); it cannot be voided.")
    if invoice.receivable_entry_id:
        original = db.session.get(JournalEntry, invoice.receivable_entry_id)
        operating = original.bank_account
        ledgers = lock_operating(
            operating, {line.ledger_account.key: line.ledger_account.kind for line in original.lines}
        )
        reversal = JournalEntry(
            kind="reversal",
            bank_account_id=operating.id,
            entry_date=firm_today(),
            description=f"Reversal of {original.number}: invoice {invoice.number} void ({reason})",
            reverses_id=original.id,
            created_by_id=user.id,
        )
        _post(reversal, [(ledgers[line.ledger_account.kind], -line.amount_cents) for line in original.lines])
        audit_entry(reversal, "operating.invoice_void", user)
    before = invoice.status
    invoice.status, invoice.void_reason = "void", reason
    audit.record(
        "invoice.voided", invoice, before={"status": before}, after={"status": "void", "reason": reason}, user=user
    )
    db.session.commit()
    return invoice
