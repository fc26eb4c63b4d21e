"""Why an action was refused: the errors whose message is shown to the person who asked, as is (never a 500).

A module of their own, beside the packages that raise them (services/, payments/) so that neither has to
import the other for them. The money rules' own errors are LedgerError and its kin in trustweb/ledger/rules.py;
a bank statement file that cannot be read is a StatementFileError from trustweb/bankfiles, an image that cannot be
the firm's logo a LogoFileError from trustweb/images.py.
"""

from trustweb.bankfiles import StatementFileError
from trustweb.images import LogoFileError
from trustweb.ledger.rules import LedgerError


class ServiceError(ValueError):
    """An action refused for a reason the user can act on; the message is shown as is."""


# What a view shows the user as the reason an action was refused.
REFUSALS = (ServiceError, LedgerError, StatementFileError, LogoFileError)
