"""Payment processors: one interface, an implementation per processor.

A processor takes a card (or a bank payment) for an amount and says whether
the money was taken, with its reference and the fee it keeps. It never
touches the books: trustweb/services/payments.py books what it reports.
"""

from trustweb.payments.base import CardDetails, Charge, Declined, Processor
from trustweb.payments.test import TestProcessor

PROCESSORS = {"test": TestProcessor}


def processor_for(account, settings):
    """The processor that takes payments into this bank account (the test one until Stripe is configured)."""
    return TestProcessor(settings.card_fee_basis_points, settings.card_fee_fixed_cents)


__all__ = ["CardDetails", "Charge", "Declined", "PROCESSORS", "Processor", "TestProcessor", "processor_for"]
