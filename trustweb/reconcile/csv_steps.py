"""The CSV import's steps on screen: the columns to choose (guessed, or as last chosen), then the preview of the rows
as they will be read, confirmed by a token naming the file and the choices it was shown with."""

import hashlib
import json
from typing import Any

from trustweb.bankfiles import checks, csvfile
from trustweb.bankfiles.csvlayout import sniff
from trustweb.bankfiles.csvvalues import AmbiguousDates
from trustweb.models import BankAccount


def choices_step(data: bytes, saved: dict[str, Any], sent: dict[str, str] | None = None) -> dict[str, Any]:
    """The file's columns, the mapping (as sent when it names this file's columns, else guessed), and the notes."""
    layout = sniff(data)
    mapping = sent if sent and sent.get("date") in layout.names else csvfile.guess_mapping(layout, saved)
    return {
        "header": layout.names,
        "mapping": mapping,
        "notes": layout.notes,
        "formats": csvfile.date_choices(),
        "signs": csvfile.SIGNS,
        "date_choices": None,
    }


def preview_step(data: bytes, step: dict[str, Any], mapping: dict[str, str], account: BankAccount) -> dict[str, Any]:
    """The step with the file read through: the first rows, what was skipped, and the token that confirms it; a file
    naming another account or currency is refused here, before its rows are shown."""
    try:
        reading = csvfile.read(data, mapping)
    except AmbiguousDates as error:
        step["date_choices"] = error.choices
        raise
    checks.check_account(
        reading.statement, name=account.name, account_last4=account.account_last4, currency=account.currency
    )
    step.update(
        reading=reading,
        notes=reading.notes,
        token=token(data, reading.mapping),
        money_in=sum(line.amount_cents for line in reading.statement.lines if line.amount_cents > 0),
        money_out=sum(line.amount_cents for line in reading.statement.lines if line.amount_cents < 0),
    )
    return step


def token(data: bytes, mapping: dict[str, str]) -> str:
    """Names the file and the choices a preview was shown for: Confirm imports only what was seen."""
    digest = hashlib.sha256(data).hexdigest()
    return hashlib.sha256(f"{digest}:{json.dumps(mapping, sort_keys=True)}".encode()).hexdigest()[:32]
