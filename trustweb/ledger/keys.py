"""How a ledger's key is spelled: one unique key per ledger, built only here.

A trust account (bank account id 3) has "bank:3", "firm:3", "shortfall:3" and
one ledger per client: "client:3:17:42" for contact 17's matter 42, or
"client:3:17:-" for the client's funds held without a matter. An operating
account has "operating:3", "receivable:3", "income:3:fees" and
"expense:3:processing-fees".
"""

PROCESSING_FEES = "processing-fees"  # the operating expense a processor's fees are booked to
FEES_EARNED = "fees"  # the income an invoice books


def bank_key(account_id: int) -> str:
    """The trust account's bank ledger: what the bank holds."""
    return f"bank:{account_id}"


def firm_key(account_id: int) -> str:
    """The firm's own money in the trust account (to cover bank charges)."""
    return f"firm:{account_id}"


def client_key(account_id: int | str, contact_id: int, matter_id: int | None = None) -> str:
    """A client's trust ledger for a matter, or for the client's funds held without one ("%" as the account: any)."""
    return f"client:{account_id}:{contact_id}:{matter_id or '-'}"


def client_key_in_any_account(contact_id: int, matter_id: int | None = None) -> str:
    """A LIKE pattern for the client's ledger in whichever trust account holds it."""
    return client_key("%", contact_id, matter_id)


def shortfall_key(account_id: int) -> str:
    """What the firm owes the trust account (fees a processor kept, chargebacks already spent)."""
    return f"shortfall:{account_id}"


def operating_key(account_id: int) -> str:
    """The operating account's bank ledger."""
    return f"operating:{account_id}"


def receivable_key(account_id: int) -> str:
    """What clients owe the firm on sent invoices."""
    return f"receivable:{account_id}"


def expense_key(account_id: int, name: str = PROCESSING_FEES) -> str:
    return f"expense:{account_id}:{name}"


def income_key(account_id: int, name: str = FEES_EARNED) -> str:
    return f"income:{account_id}:{name}"
