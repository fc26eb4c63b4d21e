"""What a CSV says of its account, so that checks.py can compare it with the trust account's: the number in a title
line ("Account: ...1234") or an Account column, the currency in a Currency column or a title line.

Only what the file states plainly is taken: a column of one value on every row, a title line naming the account
with at least four digits. A currency column holding several currencies, or account numbers that differ, is said in
a note and not checked (a file is not refused on a guess).
"""

import re

from trustweb.bankfiles.checks import last_four
from trustweb.bankfiles.csvlayout import Layout
from trustweb.ledger.money import is_currency_code

CURRENCY_NAMES = {"currency", "ccy", "curr", "currency code", "währung", "devise", "moneda", "valuta"}
ACCOUNT_NAMES = {"account", "account number", "account no", "account no.", "account #", "acct", "acct no", "konto"}
# "Account: ...1234", "Account number XXXX-1234", "Acct ending in 1234"; not "account EAC as of 12/23/2020".
_TITLE_NUMBER = re.compile(
    r"\b(?:account|acct|a/c|konto|compte)\b(?:\s*(?:number|no\.?|nr\.?|#|ending(?:\s+in)?))?\s*[:#]?\s*"
    r"((?:[x*•.\- ]*\d){4,})",
    re.IGNORECASE,
)
_TITLE_CURRENCY = re.compile(r"\b(?:currency|währung|devise)\b\s*[:=]?\s*([a-z]{3})\b", re.IGNORECASE)


def stated_account(layout: Layout) -> tuple[str | None, str | None, list[str]]:
    """(account number, currency, notes) as the file states them; None where it does not, or not plainly."""
    notes: list[str] = []
    number = currency = None
    for line in layout.preamble:
        found = _TITLE_NUMBER.search(line)
        if found and number is None:
            number = found.group(1).strip(" .-")
        code = _TITLE_CURRENCY.search(line)
        if code and currency is None and is_currency_code(code.group(1).upper()):
            currency = code.group(1).upper()
    for at, name in enumerate(layout.names):
        key = name.lower().strip() if layout.has_header else ""
        values = {cells[at].strip() for _, cells in layout.rows if at < len(cells) and cells[at].strip()}
        if key in CURRENCY_NAMES or (not layout.has_header and len(layout.rows) > 1 and len(values) == 1):
            codes = {value.upper() for value in values}
            if not codes or not all(is_currency_code(code) for code in codes):
                continue
            if len(codes) == 1 and currency is None:
                currency = codes.pop()
            elif len(codes) > 1:
                notes.append(
                    f"“{name}” names several currencies ({', '.join(sorted(codes))}): the amounts are read as they "
                    "are written, whatever their currency."
                )
        elif key in ACCOUNT_NAMES and number is None:
            if len(values) == 1:
                number = values.pop()
            elif values:
                notes.append(f"“{name}” holds {len(values)} different accounts; the account is not checked.")
    ending = last_four(number)
    if ending:
        notes.append(f"The file names account ending {ending}.")
    else:
        number = None  # a masked "XXXXXXXX": nothing to compare
    if currency:
        notes.append(f"The file gives its amounts in {currency}.")
    return number, currency, notes
