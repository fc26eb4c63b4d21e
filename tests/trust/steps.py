"""Steps the trust tests share."""

from trustweb.extensions import db
from trustweb.models import BankAccount
from trustweb.services.trust import Holder, firm_today, record_deposit


def wire_in(account, contact, matter, cents):
    """A client's money wired into trust for a matter today, cleared."""
    return record_deposit(
        account=db.session.get(BankAccount, account.id),
        holder=Holder(contact.id, matter.id),
        amount_cents=cents,
        entry_date=firm_today(),
        method="wire",
        payer=contact.name,
    )
