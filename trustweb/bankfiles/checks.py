"""Is this statement the trust account's? Its kind, account number and currency checked against the account's.

Pure functions over plain values, for any kind of file: OFX carries the
account number and currency, a CSV may (a column or its title line), and
the reader passes what it found as ParsedStatement.account_number and
.currency. What a file does not say is not checked.
"""

from trustweb.bankfiles import ParsedStatement, StatementFileError

REFUSED_KINDS = {
    "credit card": "a credit card's statement",
    "investment": "an investment (brokerage) account's statement",
}


def last_four(account_number: str | None) -> str | None:
    """The last four digits of an account number as a bank writes it ("1452687~7" is 6877); None when it has fewer
    (a masked "XXXXXXXXXXX")."""
    digits = "".join(character for character in account_number or "" if character.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def _described(statement: ParsedStatement) -> str:
    ending = last_four(statement.account_number)
    return f"account ending {ending}" if ending else "an account without a number"


def pick_statement(statements: list[ParsedStatement], account_last4: str | None) -> ParsedStatement:
    """The bank statement to import: the file's only one, or of several the one of the account ending
    account_last4; a credit card's or an investment account's is refused, saying so."""
    banks = [statement for statement in statements if statement.kind == "bank"]
    if not banks:
        kind = REFUSED_KINDS.get(statements[0].kind, "not a bank account's statement") if statements else None
        raise StatementFileError(
            f"This file is {kind}, not a bank account's: a trust account's statement comes from its bank. "
            "Nothing was imported."
        )
    if len(banks) == 1:
        return banks[0]
    found = ", ".join(_described(statement) for statement in banks)
    if not account_last4:
        raise StatementFileError(
            f"The file holds the statements of {len(banks)} accounts ({found}). Record the last four digits of the "
            "trust account's number in Settings → Bank accounts, so that its own is taken. Nothing was imported."
        )
    matching = [statement for statement in banks if last_four(statement.account_number) == account_last4]
    if len(matching) != 1:
        none_or_several = "none" if not matching else "more than one"
        raise StatementFileError(
            f"The file holds the statements of {len(banks)} accounts ({found}), {none_or_several} ending "
            f"{account_last4} like the trust account. Nothing was imported."
        )
    return matching[0]


def check_account(statement: ParsedStatement, *, name: str, account_last4: str | None, currency: str) -> None:
    """The statement's account number (where the file and the trust account both give one) and currency (where
    the file gives it) are the trust account's; a mismatch is refused with both shown."""
    ending = last_four(statement.account_number)
    number_differs = bool(ending and account_last4 and ending != account_last4)
    currency_differs = bool(statement.currency and statement.currency.upper() != currency.upper())
    if not (number_differs or currency_differs):
        return
    theirs = f"account ending {ending}" if ending else "an account"
    if statement.currency:
        theirs += f" in {statement.currency.upper()}"
    ours = f"ends {account_last4} and is kept" if account_last4 else "is kept"
    raise StatementFileError(
        f"This statement is for {theirs}; {name} {ours} in {currency}. Import the statement of {name} from its "
        "bank. Nothing was imported."
    )
