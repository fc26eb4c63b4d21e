"""Each currency keeps its own books: no entry mixes two, whatever is paid into which account, in whatever order."""

import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.currency.steps import expenses, gen_request, gen_two_currencies
from tests.invoices.steps import invoice_for
from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.rules import LedgerState, MixedCurrencies, Posting
from trustweb.models import BankAccount, Invoice, Payment, TrustRequest, User
from trustweb.payments import CardDetails
from trustweb.refusals import ServiceError
from trustweb.services import invoice_trust
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.books import check_books, entries_mixing_currencies
from trustweb.services.payments import record_manual_payment
from trustweb.services.trust import Holder, firm_today, record_deposit


def test_the_rules_refuse_an_entry_whose_lines_are_in_two_currencies():
    usd = LedgerState("bank:1", "bank", 1, "Client Trust (USD)", "USD")
    cad = LedgerState("client:2:1:1", "client", 2, "Ada Archer", "CAD")
    with pytest.raises(MixedCurrencies, match="CAD and USD"):
        rules.apply([Posting(usd, 25_000), Posting(cad, -25_000)])


def test_trust_money_in_cad_does_not_pay_an_invoice_in_usd(app):
    with app.app_context():
        firm = gen_two_currencies()
        cad = db.session.get(BankAccount, firm.cad_trust)
        record_deposit(
            account=cad,
            holder=Holder(firm.client, firm.matter),
            amount_cents=100_000,
            entry_date=firm_today(),
            method="wire",
            payer="Ada Archer",
        )
        invoice = db.session.get(Invoice, invoice_for(setup_of(firm), 100, 50_000))  # owed to the USD operating
        assert invoice.currency == "USD"
        # The panel offers no trust account of another currency to pay it from.
        assert invoice_trust.trust_account_for(invoice).currency == "USD"
        with pytest.raises(ServiceError, match="holds CAD and .* is owed in USD"):
            invoice_trust.apply_trust(
                invoice,
                50_000,
                account=cad,
                from_client_funds=False,
                idempotency_key=secrets.token_urlsafe(24),
                user=db.session.get(User, firm.lawyer),
            )
        db.session.rollback()
        assert db.session.get(Invoice, invoice.id).paid_cents == 0
        assert check_books() == []


def setup_of(firm):
    """What tests/invoices/steps.py asks of a firm: its lawyer and client A's first matter."""

    class Setup:
        lawyer, matter_a1 = firm.lawyer, firm.matter

    return Setup


FIRM: list = []  # the firm the test's first example made
PAYMENTS = st.lists(
    st.tuples(
        st.sampled_from(["USD", "CAD"]),
        st.integers(min_value=100, max_value=500_000),
        st.sampled_from(["card", "card", "wire", "cheque"]),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payments=PAYMENTS)
def test_random_payments_into_both_accounts_keep_each_currencys_books_apart(app, payments):
    with app.app_context():
        # The test's database lives through its examples: the first makes the firm, the others pay into its books.
        made = db.session.scalar(select(BankAccount).where(BankAccount.name == "Client Trust (CAD)"))
        firm = FIRM[0] if made is not None else gen_two_currencies()
        FIRM[:] = [firm]
    for currency, cents, method in payments:
        with app.app_context():
            account = firm.cad_trust if currency == "CAD" else firm.usd_trust
            request_id, path = gen_request(firm, account, cents)
            if method == "card":  # through the pay page's service (the page itself is rate limited)
                link = request_service.link_for_token(path.rsplit("/", 1)[1])
                card = CardDetails("4242424242424242", 12, firm_today().year + 2, "123", "Ada Archer")
                payment_service.pay_by_card(link, cents, card, secrets.token_urlsafe(24))
            else:
                record_manual_payment(
                    db.session.get(TrustRequest, request_id),
                    amount_cents=cents,
                    method=method,
                    received_on=firm_today(),
                    reference=None,
                    payer="Ada Archer",
                    idempotency_key=secrets.token_urlsafe(24),
                    user=db.session.get(User, firm.lawyer),
                )
    with app.app_context():
        assert entries_mixing_currencies() == []
        # Each currency's fees are in its own operating account: what the card payments into it were charged.
        fees = dict(
            db.session.execute(
                select(BankAccount.currency, func.coalesce(func.sum(Payment.fee_cents), 0))
                .join(BankAccount, BankAccount.id == Payment.bank_account_id)
                .group_by(BankAccount.currency)
            ).all()
        )
        assert expenses(firm.usd_operating) == fees.get("USD", 0)
        assert expenses(firm.cad_operating) == fees.get("CAD", 0)
        assert check_books() == []
