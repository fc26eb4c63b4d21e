"""The three-way reconciliation's figures, worked through the firm's October on paper.

Ada's retainer of 5,000.00 arrives by wire on the 2nd, Ben's cheque of
2,500.00 is deposited on the 9th, and cheque 1001 pays the county 1,200.00 for
Ada on the 12th. The journal then holds 6,300.00: Ada 3,800.00, Ben 2,500.00.
Each test changes what the bank has seen by the 31st and checks the figures a
bookkeeper would: adjusted bank balance, journal, client ledgers, differences.
"""

from datetime import date, timedelta

from trustweb.ledger.three_way import STALE_DAYS, BankLine, OpenEntry, figures

END = date(2026, 10, 31)
BOOKS = [("bank", 630_000), ("client", 380_000), ("client", 250_000)]  # (kind, balance) of each ledger


def october(day):
    return date(2026, 10, day)


def entry(entry_id, on, cents, *, cheque=None, reverses=None, description=""):
    return OpenEntry(
        entry_id=entry_id,
        number=f"JE-{entry_id:06d}",
        entry_date=on,
        description=description,
        amount_cents=cents,
        cheque_number=cheque,
        reverses_id=reverses,
    )


def reconcile(statement_balance, open_entries=(), bank_lines=(), books=BOOKS):
    return figures(
        end=END,
        statement_balance_cents=statement_balance,
        ledger_balances=books,
        open_entries=open_entries,
        bank_lines=bank_lines,
    )


def test_the_bank_saw_everything_the_journal_holds():
    report = reconcile(630_000)
    assert report["adjusted_bank_cents"] == report["journal_cents"] == report["clients_cents"] == 630_000
    assert report["bank_vs_journal_cents"] == report["journal_vs_clients_cents"] == 0
    assert report["balanced"]
    assert report["deposits_in_transit"] == report["outstanding_withdrawals"] == report["unmatched_lines"] == []


def test_a_cheque_written_but_not_yet_cashed():
    # The county has not cashed cheque 1001: the bank still holds 7,500.00.
    report = reconcile(750_000, [entry(3, october(12), -120_000, cheque="1001", description="Travis County Clerk")])
    assert report["statement_balance_cents"] == 750_000
    assert report["outstanding_withdrawals_cents"] == 120_000
    assert report["adjusted_bank_cents"] == 630_000
    assert report["balanced"]
    [cheque] = report["outstanding_withdrawals"]
    assert cheque["number"] == "JE-000003"
    assert cheque["cheque_number"] == "1001"
    assert cheque["date"] == "2026-10-12"
    assert cheque["amount_cents"] == -120_000
    assert not cheque["stale"]


def test_a_deposit_in_transit():
    # Had Ben's cheque gone to the bank on the 30th, the bank would credit it on November 2nd.
    report = reconcile(380_000, [entry(2, october(30), 250_000, description="Ben Baker")])
    assert report["deposits_in_transit_cents"] == 250_000
    assert report["outstanding_withdrawals_cents"] == 0
    assert report["adjusted_bank_cents"] == 630_000
    assert report["balanced"]
    assert [item["entry_id"] for item in report["deposits_in_transit"]] == [2]


def test_a_deposit_in_transit_and_a_cheque_not_cashed_at_once():
    # The bank saw Ada's wire only.
    report = reconcile(500_000, [entry(3, october(12), -120_000, cheque="1001"), entry(2, october(9), 250_000)])
    assert report["statement_balance_cents"] == 500_000
    assert report["adjusted_bank_cents"] == 500_000 + 250_000 - 120_000 == 630_000
    assert report["balanced"]
    # Listed by date, whatever order they were found in.
    assert [item["date"] for item in report["deposits_in_transit"] + report["outstanding_withdrawals"]] == [
        "2026-10-09",
        "2026-10-12",
    ]


def test_a_bank_fee_not_yet_booked():
    # The bank took a 25.00 service charge on the 31st; nobody has booked it.
    fee = BankLine(line_id=7, posted_on=october(31), description="SERVICE CHARGE", amount_cents=-2_500)
    report = reconcile(627_500, bank_lines=[fee])
    assert report["adjusted_bank_cents"] == 627_500
    assert report["journal_cents"] == report["clients_cents"] == 630_000
    assert report["bank_vs_journal_cents"] == -2_500
    assert report["journal_vs_clients_cents"] == 0
    assert not report["balanced"]
    assert report["unmatched_lines"] == [
        {
            "line_id": 7,
            "date": "2026-10-31",
            "description": "SERVICE CHARGE",
            "cheque_number": "",
            "amount_cents": -2_500,
        }
    ]
    assert report["unmatched_lines_cents"] == -2_500


def test_a_bank_fee_booked_after_the_period_is_still_shown_with_its_date():
    fee = BankLine(
        line_id=7,
        posted_on=october(31),
        description="SERVICE CHARGE",
        amount_cents=-2_500,
        booked_on=date(2026, 11, 3),
    )
    report = reconcile(627_500, bank_lines=[fee])
    assert report["unmatched_lines"][0]["description"] == "SERVICE CHARGE (booked 2026-11-03, after the period)"
    assert report["bank_vs_journal_cents"] == -2_500


def test_a_cheque_written_in_error_and_reversed_never_reached_the_bank():
    # Cheque 1002 for 300.00 was written to the wrong payee and reversed the same day; neither is outstanding.
    report = reconcile(
        630_000,
        [entry(4, october(20), -30_000, cheque="1002"), entry(5, october(20), 30_000, reverses=4)],
    )
    assert report["deposits_in_transit"] == report["outstanding_withdrawals"] == []
    assert report["adjusted_bank_cents"] == 630_000
    assert report["balanced"]


def test_a_cheque_not_cashed_for_two_months_is_flagged():
    old = entry(1, END - timedelta(days=STALE_DAYS + 1), -40_000, cheque="0998")
    just_in_time = entry(2, END - timedelta(days=STALE_DAYS), -10_000, cheque="0999")
    report = reconcile(680_000, [old, just_in_time])
    assert report["adjusted_bank_cents"] == 630_000
    assert [item["stale"] for item in report["outstanding_withdrawals"]] == [True, False]
    assert report["stale_items"] == 1


def test_the_firms_own_funds_count_with_the_clients():
    # 10.00 of the firm's money sits in trust to cover bank charges.
    books = [("bank", 631_000), ("client", 380_000), ("client", 250_000), ("firm", 1_000)]
    report = reconcile(631_000, books=books)
    assert report["clients_cents"] == 631_000
    assert report["balanced"]


def test_a_chargeback_after_the_money_was_spent_is_owed_by_the_firm():
    # The processor pulled back Ben's 150.00 card payment after it had been paid out: the bank holds less than the
    # clients are owed, and the shortfall ledger says the firm must put it back.
    books = [("bank", 615_000), ("client", 380_000), ("client", 250_000), ("shortfall", -15_000)]
    report = reconcile(615_000, books=books)
    assert report["owed_by_firm_cents"] == 15_000
    assert report["adjusted_bank_cents"] == report["journal_cents"] == 615_000
    assert report["journal_vs_clients_cents"] == -15_000
    assert not report["balanced"]
