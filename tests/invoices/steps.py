"""Steps the invoice tests share: a firm with money in trust, invoices sent, trust applied."""

from tests.dates import days_ago
from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings, Invoice, Matter, User
from trustweb.services import invoice_trust
from trustweb.services import invoices as invoice_service
from trustweb.services.trust import Holder, firm_today, record_deposit

A1 = object()  # client A's first matter, the default


def retainer(firm, cents, *, client=None, matter=A1, cleared=True):
    """Money into trust; matter=None is the client's funds held without a matter."""
    record_deposit(
        account=db.session.get(BankAccount, firm.account),
        holder=Holder(client or firm.client_a, firm.matter_a1 if matter is A1 else matter),
        amount_cents=cents,
        entry_date=firm_today(),
        method="wire",
        payer="Ada Archer",
        cleared=cleared,
    )


def invoice_for(firm, hours_hundredths, rate_cents, *, send=True, matter=None):
    lawyer = db.session.get(User, firm.lawyer)
    values = {
        "matter": db.session.get(Matter, matter or firm.matter_a1),
        "issued_on": firm_today(),
        "due_on": None,
        "notes": None,
        "lines": [
            {
                "line_date": days_ago(28),
                "description": "Review of title and closing",
                "kind": "fee",
                "quantity_hundredths": hours_hundredths,
                "rate_cents": rate_cents,
            }
        ],
    }
    invoice = invoice_service.create_invoice(values, lawyer)
    if send:
        invoice_service.send_invoice(invoice, lawyer)
    return invoice.id


def apply(firm, invoice_id, cents, key="click-0000000000000000001", client_funds=False):
    return invoice_trust.apply_trust(
        db.session.get(Invoice, invoice_id),
        cents,
        account=db.session.get(BankAccount, firm.account),
        from_client_funds=client_funds,
        idempotency_key=key,
        user=db.session.get(User, firm.lawyer),
    )


def notice_period(days):
    """The firm's notice period before trust money is applied to an invoice."""
    settings = db.session.get(FirmSettings, 1) or FirmSettings(id=1)
    settings.trust_notice_days = days
    db.session.add(settings)
    db.session.commit()
