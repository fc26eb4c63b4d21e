"""The trust panel: a ledger's balance, a page of its lines and the forms that move its money.

Shown on the ledger's own page and on a matter's page, so it lives here rather than in either blueprint's views.
"""

from flask import request
from flask_login import current_user

from trustweb.auth.permissions import can
from trustweb.forms import query_date
from trustweb.trust.forms import DepositForm, DisbursementForm, TransferForm
from trustweb.trust.ledgers import destinations, ledger_lines, trust_accounts


def panel_context(scope, message=None, **forms):
    """What the panel shows for a scope: forms given (with their errors) replace the empty ones."""
    ledger = scope.ledger()
    transfer = forms.get("transfer") or TransferForm(formdata=None)
    # The client's other matters cost a query; only those who may transfer see the form.
    allowed = can(current_user, "disburse_trust")
    transfer.destination.choices = destinations(scope, transfer.destination.data) if allowed else []
    return {
        "scope": scope,
        "ledger": ledger,
        "accounts": trust_accounts(),
        "page": ledger_lines(ledger, query_date("from"), query_date("to")),
        "date_from": request.args.get("from", ""),
        "date_to": request.args.get("to", ""),
        "deposit": forms.get("deposit") or DepositForm(formdata=None),
        "disburse": forms.get("disburse") or DisbursementForm(formdata=None),
        "transfer": transfer,
        "open_form": forms.get("open_form"),
        "message": message,
    }
