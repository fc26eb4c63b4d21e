"""Payment processors: one interface, an implementation per processor.

A processor takes a card (or a bank payment) for an amount and says whether
the money was taken, with its reference and the fee it keeps. It never
touches the books: trustweb/services/payments.py and checkout.py book what it reports.
"""

from flask import current_app

from trustweb.models import BankAccount, FirmSettings
from trustweb.payments.base import (
    AuthenticationRequired,
    CardDetails,
    Charge,
    Declined,
    ForeignFee,
    Processor,
    SavedDetails,
    SetupState,
)
from trustweb.payments.keys import StripeKeys, stripe_keys
from trustweb.payments.test import TestProcessor
from trustweb.refusals import ServiceError


class NotConfigured(ServiceError):
    """The account is set to a processor whose keys are missing or unreadable (shown to staff as a refusal)."""


def processor_for(account: BankAccount, settings: FirmSettings) -> Processor:
    """The processor that takes new payments into this bank account."""
    return processor_named(account.processor, account, settings)


def processor_named(name: str, account: BankAccount, settings: FirmSettings) -> Processor:
    """A named processor for this account: a payment is settled and refunded by the processor that took it,
    whatever the account is set to now."""
    if name == "stripe":
        from trustweb.payments.stripe import StripeProcessor

        keys = stripe_keys(account)
        if not keys.secret_key:
            raise NotConfigured(f"{account.name} has no readable Stripe secret key; enter it in its payment settings.")
        return StripeProcessor(keys.secret_key, keys.webhook_secret, current_app.config["STRIPE_API_BASE"])
    return TestProcessor(settings.card_fee_basis_points, settings.card_fee_fixed_cents)


__all__ = [
    "AuthenticationRequired",
    "SavedDetails",
    "SetupState",
    "CardDetails",
    "Charge",
    "ForeignFee",
    "Declined",
    "NotConfigured",
    "Processor",
    "StripeKeys",
    "TestProcessor",
    "processor_for",
    "processor_named",
    "stripe_keys",
]
