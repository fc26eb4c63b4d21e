"""The firm's day in the trust books, worked through the services staff use.

After every step the trust account's bank ledger equals the sum of its client and
firm ledgers (invariant 4); at the end of each day check-books and the audit chain
find nothing wrong.
"""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories import bank_and_held_totals, gen_trust_setup, row_counts, trust_ledger
from trustweb.extensions import db
from trustweb.ledger.rules import AlreadyReversed, BadDate, InsufficientFunds, LedgerError, UnclearedFunds
from trustweb.models import AuditEvent, BankAccount, JournalEntry, LedgerAccount
from trustweb.services import audit, trust
from trustweb.services.books import check_books
from trustweb.services.trust import FIRM, Holder


@pytest.fixture
def firm(app):
    """Inside the app: one trust account, client A with matters A1 and A2, client B with matter B1."""
    with app.app_context():
        ids = gen_trust_setup()
        today = trust.firm_today()
        yield SimpleNamespace(
            ids=ids,
            a1=Holder(ids.client_a, ids.matter_a1),
            a2=Holder(ids.client_a, ids.matter_a2),
            b1=Holder(ids.client_b, ids.matter_b1),
            today=today,
            day=lambda n: today - timedelta(days=n),
            account=lambda: db.session.get(BankAccount, ids.account),
        )


def held(firm, holder):
    """(balance, available) of a holder's ledger, read fresh from the database."""
    ledger = trust_ledger(firm.ids.account, holder)
    db.session.refresh(ledger)
    return ledger.balance_cents, ledger.available_cents


def bank_balance(firm):
    return db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.key == f"bank:{firm.ids.account}"))


def running_balances(entry):
    """Each line's ledger key and the ledger's balance just after it."""
    entry = db.session.get(JournalEntry, entry.id)
    return {line.ledger_account.key: line.balance_after_cents for line in entry.lines}


def key(firm, holder):
    return holder.key(firm.ids.account)


def assert_bank_equals_held(firm):
    bank, held_total = bank_and_held_totals(firm.ids.account)
    assert bank == held_total


def assert_sound(firm):
    assert_bank_equals_held(firm)
    assert check_books() == []
    assert audit.verify() == []


def deposit(firm, holder, amount, days_ago=0, cleared=True, method="wire", payer="Client"):
    entry = trust.record_deposit(
        account=firm.account(),
        holder=holder,
        amount_cents=amount,
        entry_date=firm.day(days_ago),
        method=method,
        payer=payer,
        cleared=cleared,
    )
    assert_bank_equals_held(firm)
    return entry


def pay_out(firm, holder, amount, days_ago=0, **fields):
    fields = {"payee": "Clerk of the Circuit Court", "description": "Filing fee", **fields}
    entry = trust.record_disbursement(
        account=firm.account(), holder=holder, amount_cents=amount, entry_date=firm.day(days_ago), **fields
    )
    assert_bank_equals_held(firm)
    return entry


def refused(firm, error, match, action, *args, **kwargs):
    """The action raises, and once rolled back the books and the audit trail are as they were."""
    before = row_counts()
    with pytest.raises(error, match=match):
        action(*args, **kwargs)
    db.session.rollback()
    assert row_counts() == before
    assert_bank_equals_held(firm)


def test_a_cheque_retainer_is_paid_out_only_once_the_bank_clears_it(firm):
    retainer = deposit(firm, firm.a1, 500_000, days_ago=3, cleared=False, method="cheque", payer="Ada Archer")
    assert retainer.kind == "deposit" and not retainer.is_cleared
    assert held(firm, firm.a1) == (500_000, 0)
    assert running_balances(retainer) == {key(firm, firm.a1): 500_000, f"bank:{firm.ids.account}": 500_000}

    refused(firm, UnclearedFunds, r"has \$0\.00 available", pay_out, firm, firm.a1, 120_000, 2, cheque_number="1001")

    trust.mark_cleared(db.session.get(JournalEntry, retainer.id), cleared_on=firm.day(2))
    assert db.session.get(JournalEntry, retainer.id).is_cleared
    assert held(firm, firm.a1) == (500_000, 500_000)
    assert_bank_equals_held(firm)

    cheque = pay_out(firm, firm.a1, 120_000, 1, payee="County Recorder", cheque_number="1001")
    assert cheque.kind == "disbursement" and cheque.cheque_number == "1001"
    assert held(firm, firm.a1) == (380_000, 380_000)
    assert bank_balance(firm) == 380_000
    assert running_balances(cheque) == {key(firm, firm.a1): 380_000, f"bank:{firm.ids.account}": 380_000}

    refused(firm, LedgerError, "Cheque 1001 is already recorded", pay_out, firm, firm.a1, 1_000, cheque_number="1001")
    assert held(firm, firm.a1) == (380_000, 380_000)
    assert_sound(firm)


def test_a_lawyer_pays_out_of_uncleared_funds_and_the_reason_is_kept(firm):
    retainer = deposit(firm, firm.a1, 300_000, days_ago=1, cleared=False, method="cheque")
    reason = "Closing is today; the client's bank confirmed the cheque by phone"
    paid = pay_out(firm, firm.a1, 250_000, payee="Title Company", description="Closing funds", override_reason=reason)
    assert db.session.get(JournalEntry, paid.id).override_reason == reason
    # The override spends money the bank has not cleared: nothing is available until it does.
    assert held(firm, firm.a1) == (50_000, -250_000)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "trust.disbursement"))
    assert json.loads(event.after)["override_reason"] == reason

    # An override lets uncleared money go out, never more money than the matter holds.
    refused(firm, InsufficientFunds, r"holds \$500\.00", pay_out, firm, firm.a1, 60_000, override_reason=reason)

    trust.mark_cleared(db.session.get(JournalEntry, retainer.id), cleared_on=firm.today)
    assert held(firm, firm.a1) == (50_000, 50_000)
    assert_sound(firm)


def test_a_blank_override_reason_is_no_override(firm):
    deposit(firm, firm.a2, 40_000, cleared=False, method="cheque")
    refused(firm, UnclearedFunds, "not cleared", pay_out, firm, firm.a2, 10_000, override_reason="   ")
    assert held(firm, firm.a2) == (40_000, 0)
    assert_sound(firm)


def test_transfers_between_matters_and_to_another_client(firm):
    deposit(firm, firm.a1, 400_000, days_ago=2)
    moved = trust.transfer(
        account=firm.account(), source=firm.a1, destination=firm.a2, amount_cents=100_000, entry_date=firm.day(1)
    )
    assert moved.kind == "transfer"
    assert held(firm, firm.a1) == (300_000, 300_000) and held(firm, firm.a2) == (100_000, 100_000)
    # A transfer moves money between ledgers; the bank's balance does not change.
    assert running_balances(moved) == {key(firm, firm.a1): 300_000, key(firm, firm.a2): 100_000}
    assert bank_balance(firm) == 400_000
    assert_bank_equals_held(firm)

    to_b = {"account": firm.account(), "source": firm.a2, "destination": firm.b1, "entry_date": firm.today}
    refused(firm, LedgerError, "needs a stated reason", trust.transfer, amount_cents=50_000, **to_b)
    refused(firm, LedgerError, "needs a stated reason", trust.transfer, amount_cents=50_000, reason="  ", **to_b)
    reason = "Settlement share agreed in writing by both clients"
    shared = trust.transfer(amount_cents=50_000, reason=reason, **to_b)
    assert shared.description == reason
    assert held(firm, firm.a2) == (50_000, 50_000) and held(firm, firm.b1) == (50_000, 50_000)
    assert_bank_equals_held(firm)

    refused(firm, InsufficientFunds, "cannot be taken", trust.transfer, amount_cents=50_001, reason=reason, **to_b)
    refused(
        firm,
        LedgerError,
        "different ledger",
        trust.transfer,
        account=firm.account(),
        source=firm.a1,
        destination=firm.a1,
        amount_cents=1,
        entry_date=firm.today,
    )
    assert held(firm, firm.a1) == (300_000, 300_000)
    assert_sound(firm)


def test_money_not_yet_cleared_cannot_be_transferred(firm):
    deposit(firm, firm.b1, 80_000, days_ago=1, cleared=False, method="cheque")
    refused(
        firm,
        UnclearedFunds,
        "not cleared",
        trust.transfer,
        account=firm.account(),
        source=firm.b1,
        destination=firm.a1,
        amount_cents=10_000,
        entry_date=firm.today,
        reason="Wrong ledger",
    )
    assert held(firm, firm.b1) == (80_000, 0)
    assert_sound(firm)


def test_a_mistaken_disbursement_is_reversed_once(firm):
    deposit(firm, firm.b1, 200_000, days_ago=2)
    mistake = pay_out(firm, firm.b1, 20_000, 1, payee="Metro Process Servers", cheque_number="2001")
    assert held(firm, firm.b1) == (180_000, 180_000)

    reversal = trust.reverse(mistake, reason="Cheque written for $200.00 instead of $20.00; voided")
    assert_bank_equals_held(firm)
    assert reversal.kind == "reversal" and reversal.reverses_id == mistake.id
    assert db.session.get(JournalEntry, mistake.id).reversed_by.id == reversal.id
    assert "voided" in reversal.description
    assert [line.amount_cents for line in reversal.lines] == [-line.amount_cents for line in mistake.lines]
    assert held(firm, firm.b1) == (200_000, 200_000)
    assert bank_balance(firm) == 200_000
    assert running_balances(reversal) == {key(firm, firm.b1): 200_000, f"bank:{firm.ids.account}": 200_000}

    mistake, reversal = db.session.get(JournalEntry, mistake.id), db.session.get(JournalEntry, reversal.id)
    refused(firm, AlreadyReversed, "already reversed", trust.reverse, mistake, reason="Again")
    refused(firm, LedgerError, "cannot itself be reversed", trust.reverse, reversal, reason="Undo the undo")
    right = pay_out(firm, firm.b1, 2_000, payee="Metro Process Servers", cheque_number="2002")
    refused(firm, LedgerError, "Say why", trust.reverse, db.session.get(JournalEntry, right.id), reason=" ")
    assert held(firm, firm.b1) == (198_000, 198_000)
    assert [e.kind for e in db.session.scalars(select(JournalEntry).order_by(JournalEntry.id))] == [
        "deposit",
        "disbursement",
        "reversal",
        "disbursement",
    ]
    assert_sound(firm)


def test_a_deposit_whose_money_was_paid_out_cannot_be_reversed(firm):
    wire = deposit(firm, firm.a1, 100_000, days_ago=2)
    pay_out(firm, firm.a1, 70_000, 1, payee="Court Reporter", description="Deposition transcript")
    wire = db.session.get(JournalEntry, wire.id)
    refused(firm, InsufficientFunds, r"holds \$300\.00", trust.reverse, wire, reason="Cheque bounced")
    assert db.session.get(JournalEntry, wire.id).reversed_by is None
    assert held(firm, firm.a1) == (30_000, 30_000)
    assert bank_balance(firm) == 30_000
    assert_sound(firm)


def test_firm_funds_cover_a_bank_charge_but_never_go_negative(firm):
    funds = deposit(firm, FIRM, 50_000, days_ago=3, method="ach", payer="Firm operating account")
    deposit(firm, firm.a1, 10_000, days_ago=3)
    charge = pay_out(firm, FIRM, 1_500, 1, payee="First Community Bank", description="Monthly fee", method="other")
    assert funds.kind == "deposit" and charge.kind == "disbursement"
    assert held(firm, FIRM) == (48_500, 48_500)
    assert running_balances(charge) == {f"firm:{firm.ids.account}": 48_500, f"bank:{firm.ids.account}": 58_500}
    assert bank_balance(firm) == 58_500  # the firm's 485.00 and the client's 100.00

    refused(firm, InsufficientFunds, "Firm funds in Client Trust", pay_out, firm, FIRM, 48_501, method="other")
    assert held(firm, FIRM) == (48_500, 48_500)
    assert held(firm, firm.a1) == (10_000, 10_000)
    assert_sound(firm)


def test_money_cannot_leave_a_ledger_before_its_last_entry_nor_in_the_future(firm):
    account, tomorrow = firm.account(), firm.today + timedelta(days=1)
    deposit(firm, firm.a1, 60_000, days_ago=0)
    refused(firm, BadDate, "cannot leave it on an earlier date", pay_out, firm, firm.a1, 1_000, days_ago=1)
    to_a2 = {"account": account, "source": firm.a1, "destination": firm.a2, "amount_cents": 1_000}
    refused(firm, BadDate, "cannot leave it on an earlier date", trust.transfer, entry_date=firm.day(1), **to_a2)

    # Money may arrive on an earlier date: no earlier balance turns negative.
    late = deposit(firm, firm.a1, 5_000, days_ago=4, cleared=False, method="cheque")
    assert held(firm, firm.a1) == (65_000, 60_000)

    future = {"account": account, "holder": firm.a1, "amount_cents": 1_000, "entry_date": tomorrow}
    refused(firm, BadDate, "future", trust.record_deposit, method="wire", payer="Ada", **future)
    refused(firm, BadDate, "future", trust.record_disbursement, payee="Court", description="Fee", **future)
    refused(firm, BadDate, "future", trust.transfer, entry_date=tomorrow, **to_a2)
    late = db.session.get(JournalEntry, late.id)
    refused(firm, BadDate, "future", trust.mark_cleared, late, cleared_on=tomorrow)
    refused(firm, BadDate, "before it was made", trust.mark_cleared, late, cleared_on=firm.day(5))
    refused(firm, BadDate, "future", trust.reverse, late, reason="Bounced", entry_date=tomorrow)
    refused(firm, BadDate, "too far in the past", pay_out, firm, firm.a2, 1_000, days_ago=365 * 40)

    pay_out(firm, firm.a1, 1_000)  # today is still fine
    assert held(firm, firm.a1) == (64_000, 59_000)
    assert_sound(firm)
