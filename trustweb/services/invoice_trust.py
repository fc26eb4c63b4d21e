"""Paying invoices from trust (invariant 8): at once, after a notice period, or in a batch.

Trust money goes to operating only against an invoice the client has been
sent, never more than its balance due, and only from the invoice's own client:
the matter's ledger, or that client's funds held without a matter. One
transaction moves it: out of the client's trust ledger and the trust bank, into
the operating bank against the firm's receivable, the invoice's amount paid and
status, the audit events and the client's notice. The invoice row is locked
first, so two clicks (or two people) cannot both take the same balance due;
the trust ledger's own rules refuse more than its available balance.
"""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.keys import bank_key, client_key_in_any_account, operating_key, receivable_key
from trustweb.ledger.money import format_cents
from trustweb.models import (
    ApplicationStatus,
    BankAccount,
    FirmSettings,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    LedgerAccount,
    Matter,
    TemplateKind,
    TrustApplication,
    User,
)
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services import templates as email_templates
from trustweb.services.checkout import reserved_cents
from trustweb.services.firm import currency_of, default_account
from trustweb.services.invoices import common_values, lock, operating_account
from trustweb.services.journal import book_entry, lock_ledgers, lock_operating
from trustweb.services.sessions import token_hash
from trustweb.services.trust import Holder, check_entry_date, firm_today
from trustweb.urls import external_url

# One invoice of a batch: (invoice, the trust account to pay it from, the amount, why nothing when nothing).
PlanItem = tuple[Invoice, BankAccount | None, int, str | None]


def trust_holder(invoice: Invoice, from_client_funds: bool) -> Holder:
    """The ledger trust money for this invoice may come from: its own client's, never another's."""
    return Holder(invoice.contact_id, None if from_client_funds else invoice.matter_id)


def apply_trust(
    invoice: Invoice,
    amount_cents: int,
    *,
    account: BankAccount | None,
    from_client_funds: bool,
    idempotency_key: str,
    user: User,
) -> TrustApplication:
    """Pay (part of) the invoice from the client's trust: the smaller of the balance due and the available funds.

    With a notice period the transfer is scheduled and the client told, with a link to dispute it;
    run_scheduled() makes it once the period has passed (checking everything again then).
    """
    invoice = lock(invoice)
    earlier = db.session.scalar(select(TrustApplication).where(TrustApplication.idempotency_key == idempotency_key))
    if earlier is not None:
        return earlier  # the same click, sent twice
    if invoice.status not in OPEN_INVOICE:
        raise ServiceError(
            f"{invoice.number} is {invoice.status_label.lower()}; "
            "trust money is applied only to an invoice the client has been sent."
        )
    rules.check_amount(amount_cents)
    promised, paying = invoice.scheduled_cents, reserved_cents(invoice)
    if amount_cents > invoice.due_cents - promised - paying:
        currency = currency_of(invoice.bank_account)
        already = f" ({format_cents(promised, currency)} is already scheduled from trust)" if promised else ""
        if paying:
            already += f" ({format_cents(paying, currency)} is being paid by the client online right now)"
        left = max(invoice.due_cents - promised - paying, 0)
        most = "that" if not (promised or paying) else format_cents(left, currency)
        raise ServiceError(
            f"{format_cents(invoice.due_cents, currency)} is due on {invoice.number}{already}; apply at most {most}."
        )
    if account is None or account.kind != "trust":
        raise ServiceError("Choose the trust account the money is held in.")
    check_currency(invoice, account)
    operating_account()
    holder = trust_holder(invoice, from_client_funds)
    application = TrustApplication(
        invoice_id=invoice.id,
        idempotency_key=idempotency_key,
        amount_cents=amount_cents,
        from_client_funds=from_client_funds,
        bank_account_id=account.id,
        created_by_id=user.id,
    )
    notice_days = FirmSettings.get().trust_notice_days
    if notice_days:
        return _schedule(invoice, application, account, holder, notice_days, user)
    held = _move(invoice, application, account, holder, user)
    _queue_notice(invoice, amount_cents, held)
    db.session.commit()
    return application


def check_currency(invoice: Invoice, account: BankAccount) -> None:
    """Trust money pays only an invoice in its own currency: cents of two currencies are not the same money."""
    owed_in = currency_of(invoice.bank_account)
    if account.currency != owed_in:
        raise ServiceError(
            f"{account.name} holds {account.currency} and {invoice.number} is owed in {owed_in}: trust money pays "
            "only an invoice in its own currency."
        )


def _schedule(
    invoice: Invoice,
    application: TrustApplication,
    account: BankAccount,
    holder: Holder,
    notice_days: int,
    user: User,
) -> TrustApplication:
    ledgers = lock_ledgers(account, [holder], with_bank=False)
    held = ledgers[holder.key(account.id)]
    promised = db.session.scalar(
        select(func.coalesce(func.sum(TrustApplication.amount_cents), 0))
        .join(Invoice)
        .where(
            TrustApplication.status == ApplicationStatus.SCHEDULED,
            TrustApplication.bank_account_id == account.id,
            TrustApplication.from_client_funds == application.from_client_funds,
            Invoice.matter_id == invoice.matter_id,
        )
    )
    if application.amount_cents > held.available_cents - promised:
        raise ServiceError(
            f"{held.name} has {format_cents(max(held.available_cents - promised, 0), account.currency)} available "
            "that is not already promised to an invoice."
        )
    token = secrets.token_urlsafe(24)
    application.status = ApplicationStatus.SCHEDULED
    application.run_on = firm_today() + timedelta(days=notice_days)
    application.notice_token_hash = token_hash(token)
    db.session.add(application)
    db.session.flush()
    audit.record(
        "invoice.trust_scheduled",
        invoice,
        after={"amount_cents": application.amount_cents, "run_on": application.run_on},
        user=user,
    )
    _queue_notice(invoice, application.amount_cents, held, application=application, token=token)
    db.session.commit()
    return application


def _move(
    invoice: Invoice, application: TrustApplication, account: BankAccount, holder: Holder, user: User | None
) -> LedgerAccount:
    """The money itself: out of the client's trust ledger, into operating against the receivable (no commit)."""
    operating = operating_account()
    check_currency(invoice, account)  # again when a scheduled transfer runs: the invoice's currency is fixed
    today = firm_today()
    check_entry_date(today)
    amount_cents = application.amount_cents
    ledgers = lock_ledgers(account, [holder])
    held = ledgers[holder.key(account.id)]
    # Invariant 3 and the cleared-funds rule: the rules refuse more than the ledger's available balance.
    trust_entry = book_entry(
        "trust.invoice_paid",
        [(held, amount_cents), (ledgers[bank_key(account.id)], -amount_cents)],
        kind="disbursement",
        account=account,
        entry_date=today,
        user=user,
        description=f"Earned fees paid to the firm: invoice {invoice.number}",
        method="other",
        counterparty=operating.name,
        reference=invoice.number,
    )
    op = lock_operating(
        operating, {operating_key(operating.id): "operating", receivable_key(operating.id): "receivable"}
    )
    operating_entry = book_entry(
        "operating.invoice_paid",
        [(op["operating"], amount_cents), (op["receivable"], -amount_cents)],
        kind="deposit",
        account=operating,
        entry_date=today,
        user=user,
        description=f"From {account.name} for invoice {invoice.number}",
        method="other",
        counterparty=account.name,
        reference=invoice.number,
    )
    application.status = ApplicationStatus.APPLIED
    application.trust_entry_id, application.operating_entry_id = trust_entry.id, operating_entry.id
    db.session.add(application)
    before = {"status": invoice.status, "paid_cents": invoice.paid_cents}
    invoice.paid_cents += amount_cents
    invoice.status = InvoiceStatus.PAID if invoice.paid_cents == invoice.total_cents else InvoiceStatus.PARTIALLY_PAID
    db.session.flush()
    audit.record(
        "invoice.paid_from_trust",
        invoice,
        before=before,
        after={"status": invoice.status, "paid_cents": invoice.paid_cents, "from_trust": amount_cents},
        user=user,
    )
    return held


def run_scheduled(today: date | None = None) -> tuple[int, list[str]]:
    """The run-scheduled command: make the transfers whose notice period has passed; (made, refused)."""
    today = today or firm_today()
    due = db.session.scalars(
        select(TrustApplication)
        .where(TrustApplication.status == ApplicationStatus.SCHEDULED, TrustApplication.run_on <= today)
        .order_by(TrustApplication.id)
    ).all()
    made = 0
    refused: list[str] = []
    for application in due:
        invoice = lock(application.invoice)
        db.session.refresh(application)
        if application.status != ApplicationStatus.SCHEDULED:
            db.session.commit()
            continue  # disputed (or run) meanwhile
        try:
            if invoice.status not in OPEN_INVOICE or application.amount_cents > invoice.due_cents:
                raise ServiceError(
                    f"{invoice.number} is {invoice.status_label.lower()} with "
                    f"{format_cents(invoice.due_cents, currency_of(invoice.bank_account))} due."
                )
            holder = trust_holder(invoice, application.from_client_funds)
            held = _move(invoice, application, application.bank_account, holder, None)
            _queue_notice(invoice, application.amount_cents, held)
            db.session.commit()
            made += 1
        except (ServiceError, rules.LedgerError) as error:
            db.session.rollback()
            # The rollback let the invoice's lock go: taken again, and the application read afresh, so a dispute or
            # another runner that finished meanwhile is not overwritten.
            application = db.session.get_one(TrustApplication, application.id)
            lock(application.invoice)
            db.session.refresh(application)
            if application.status != ApplicationStatus.SCHEDULED:
                db.session.commit()
                continue
            application.status, application.note = ApplicationStatus.CANCELLED, f"Not made: {error}"
            audit.record("invoice.trust_cancelled", application.invoice, after={"reason": str(error)}, user=None)
            _tell_lawyer(
                application.invoice,
                f"The scheduled payment of {format_cents(application.amount_cents, application.bank_account.currency)} "
                f"from trust to {application.invoice.number} was not made: {error}",
            )
            db.session.commit()
            refused.append(str(error))
    return made, refused


def application_for_notice(token: str | None) -> TrustApplication | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(TrustApplication).where(TrustApplication.notice_token_hash == token_hash(token)))


def dispute(application: TrustApplication, reason: str | None) -> TrustApplication:
    """The client disputes the fee from the notice's link: the transfer is stopped and the lawyer told."""
    invoice = lock(application.invoice)
    db.session.refresh(application)
    if application.status != ApplicationStatus.SCHEDULED:
        raise ServiceError(
            "This payment has already been made; please contact the firm."
            if application.status == ApplicationStatus.APPLIED
            else "This payment is no longer scheduled."
        )
    reason = (reason or "").strip()[:1000] or None
    application.status, application.note = ApplicationStatus.DISPUTED, reason
    audit.record(
        "invoice.trust_disputed", invoice, after={"amount_cents": application.amount_cents, "reason": reason}, user=None
    )
    _tell_lawyer(
        invoice,
        f"{invoice.contact.name} disputes the payment of "
        f"{format_cents(application.amount_cents, application.bank_account.currency)} from trust to "
        f"{invoice.number}; it will not be made.\n\nTheir words: {reason or '(none given)'}",
    )
    db.session.commit()
    return application


def _tell_lawyer(invoice: Invoice, text: str) -> None:
    lawyer = invoice.matter.lawyer
    if lawyer is not None and lawyer.active:
        mail.queue("lawyer_notice", [lawyer.email], f"{invoice.number}: payment from trust", text + "\n", about=invoice)


def _queue_notice(
    invoice: Invoice,
    amount_cents: int,
    held: LedgerAccount,
    application: TrustApplication | None = None,
    token: str | None = None,
) -> None:
    """The client's notice, from the firm's template: what is taken from trust for which invoice, what remains;
    with a notice period, when it will be taken and the link to dispute it."""
    recipients = invoice.recipient_list
    if not recipients:
        return
    firm = FirmSettings.get()
    scheduled = token is not None
    # Scheduled, the money has not moved yet: say what will remain once it has.
    due_after = invoice.due_cents - (amount_cents if scheduled else 0)
    trust_after = held.balance_cents - (amount_cents if scheduled else 0)
    values = {
        **common_values(invoice, firm),
        # Trust money pays only an invoice in its own currency (_check_currency): one currency for all three.
        "amount_applied": format_cents(amount_cents, held.bank_account.currency),
        "amount_due": format_cents(due_after, held.bank_account.currency),
        "trust_balance": format_cents(trust_after, held.bank_account.currency),
    }
    if token is not None and application is not None and application.run_on is not None:  # scheduled
        values["transfer_date"] = application.run_on.strftime("%B %-d, %Y")
        values["dispute_link"] = external_url("notices.show", token=token)
    kind = TemplateKind.SCHEDULED if scheduled else TemplateKind.APPLIED
    subject, text, html = email_templates.fill(kind, values)
    mail.queue(
        "trust_notice",
        recipients,
        subject,
        text,
        html,
        about=invoice,
        reply_to=mail.reply_to(invoice),
        link_url=values.get("dispute_link"),
    )


def trust_ledger(
    invoice: Invoice, account: BankAccount | None, from_client_funds: bool = False
) -> LedgerAccount | None:
    """The client's trust ledger the invoice may be paid from (None when nothing was ever held there)."""
    if account is None:
        return None
    key = trust_holder(invoice, from_client_funds).key(account.id)
    return db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))


def available_for(invoice: Invoice, account: BankAccount | None, from_client_funds: bool = False) -> int:
    """What may be applied now: the smaller of the balance due and the ledger's available funds."""
    if invoice.status not in OPEN_INVOICE:
        return 0
    ledger = trust_ledger(invoice, account, from_client_funds)
    return max(0, min(invoice.payable_cents - reserved_cents(invoice), ledger.available_cents if ledger else 0))


def trust_account_for(invoice: Invoice) -> BankAccount | None:
    """The trust account holding this client's money for the matter (else client funds, else the default), in the
    invoice's currency: never one whose money could not pay it."""
    currency = currency_of(invoice.bank_account)
    for holder in (trust_holder(invoice, False), trust_holder(invoice, True)):
        pattern = client_key_in_any_account(invoice.contact_id, holder.matter_id)  # the invoice's client's
        account_id = db.session.scalar(
            select(LedgerAccount.bank_account_id)
            .join(BankAccount, BankAccount.id == LedgerAccount.bank_account_id)
            .where(
                LedgerAccount.key.like(pattern),
                LedgerAccount.balance_cents > 0,
                BankAccount.active,
                BankAccount.currency == currency,
            )
            .order_by(LedgerAccount.balance_cents.desc())
            .limit(1)
        )
        if account_id:
            return db.session.get(BankAccount, account_id)
    default = default_account("trust")
    return default if default is not None and default.currency == currency else None


def batch_plan(lawyer_id: int | None = None) -> list[PlanItem]:
    """What "pay outstanding invoices from trust" would do: [(invoice, account, amount, reason)], oldest first.

    Each invoice takes the smaller of its balance due and what its matter's ledger still has available after
    the invoices before it; one with nothing available is listed with the reason and skipped.
    """
    statement = (
        select(Invoice)
        # Each invoice's currency (its operating account's) comes with it, not one query a row.
        .options(joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account))
        .join(Matter, Matter.id == Invoice.matter_id)
        .where(Invoice.status.in_(OPEN_INVOICE))
        .order_by(Invoice.issued_on, Invoice.id)
    )
    if lawyer_id:
        statement = statement.where(Matter.lawyer_id == lawyer_id)
    left: dict[str, int] = {}
    plan: list[PlanItem] = []
    for invoice in db.session.scalars(statement):
        account = trust_account_for(invoice)
        ledger = trust_ledger(invoice, account)
        if ledger is None:
            plan.append((invoice, account, 0, "No trust money is held for this matter."))
            continue
        left.setdefault(ledger.key, ledger.available_cents)
        amount = max(0, min(invoice.payable_cents - reserved_cents(invoice), left[ledger.key]))
        left[ledger.key] -= amount
        reason = None if amount else "Nothing available in trust for this matter."
        plan.append((invoice, account, amount, reason))
    return plan


def plan_digest(plan: Sequence[PlanItem]) -> str:
    """A fingerprint of a plan: the batch runs only if it is still exactly what was previewed."""
    text = ";".join(f"{i.id}:{a.id if a else 0}:{amount}" for i, a, amount, _ in plan)
    return hashlib.sha256(text.encode()).hexdigest()


def run_batch(lawyer_id: int | None, digest: str, batch_key: str, user: User) -> list[TrustApplication]:
    """Apply the previewed plan; refused (nothing done) when the books changed since the preview."""
    plan = batch_plan(lawyer_id)
    if plan_digest(plan) != digest:
        raise ServiceError(
            "Trust balances or invoices changed since the preview; check the new preview and apply again."
        )
    applied = []
    for invoice, account, amount, _ in plan:
        if amount:
            applied.append(
                apply_trust(
                    invoice,
                    amount,
                    account=account,
                    from_client_funds=False,
                    idempotency_key=f"{batch_key[:40]}-{invoice.id}",
                    user=user,
                )
            )
    return applied
