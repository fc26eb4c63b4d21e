"""The bank's files read on their own (trustweb/bankfiles): no app, no database, just what each file says."""

from datetime import date

import pytest

from tests.reconcile.steps import chase_csv, ofx
from trustweb.bankfiles import StatementFileError, csvfile, ofxfile, signed_cents

CHASE = {
    "date": "Posting Date",
    "amount": "Amount",
    "description": "Description",
    "reference": "Check or Slip #",
    "date_format": "%m/%d/%Y",
}


@pytest.mark.parametrize(
    ("written", "cents"),
    [("1,234.56", 123_456), ("-1234.56", -123_456), ("(1,234.56)", -123_456), ("$12", 1_200), ("", None)],
)
def test_a_banks_amounts_as_signed_cents(written, cents):
    assert signed_cents(written) == cents


def test_a_chase_export_a_wire_in_and_a_cheque_out():
    data = chase_csv([("10/03/2026", "WIRE FROM ADA ARCHER", 500_000, None), ("10/16/2026", "CHECK", -120_000, "1001")])
    assert csvfile.header(data)[:4] == ["Details", "Posting Date", "Description", "Amount"]
    parsed = csvfile.parse(data, CHASE)
    assert [(line.posted_on, line.amount_cents, line.cheque_number) for line in parsed.lines] == [
        (date(2026, 10, 3), 500_000, None),
        (date(2026, 10, 16), -120_000, "1001"),
    ]
    assert parsed.lines[0].description == "WIRE FROM ADA ARCHER"
    assert parsed.period_end is None and parsed.ending_balance_cents is None  # a CSV carries neither


def test_a_bank_with_debit_and_credit_columns_and_a_memo_row():
    data = b"Date,Memo,Debit,Credit\n2026-10-03,Wire,,5000.00\n2026-10-04,Note,,\n2026-10-16,Cheque,1200.00,\n"
    parsed = csvfile.parse(data, {"date": "Date", "description": "Memo", "debit": "Debit", "credit": "Credit"})
    assert [line.amount_cents for line in parsed.lines] == [500_000, -120_000]


def test_a_bad_row_is_named_and_nothing_is_kept():
    data = chase_csv([("10/03/2026", "WIRE", 500_000, None)]) + b"CREDIT,31/10/2026,x,1.00,,,\n"
    with pytest.raises(
        StatementFileError, match="Row 3: “31/10/2026” in “Posting Date” is not a date written like 11/30/2026"
    ):
        csvfile.parse(data, CHASE)


def test_a_mapping_that_names_a_column_the_file_lacks():
    with pytest.raises(StatementFileError, match="The file has no column “Amount”"):
        csvfile.parse(b"Date,Value\n2026-10-03,1.00\n", {"date": "Date", "amount": "Amount"})


def test_an_ofx_download_carries_its_period_and_balance():
    data = ofx(
        [("A1", "20261003", "ADA ARCHER", 500_000, None), ("A2", "20261016120000[-5:EST]", "CHECK", -120_000, "1001")],
        start="20261001",
        end="20261031",
        balance="3800.00",
    )
    parsed = ofxfile.parse(data)
    assert (parsed.period_start, parsed.period_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert parsed.ending_balance_cents == 380_000
    assert [(line.bank_reference, line.cheque_number, line.amount_cents) for line in parsed.lines] == [
        ("A1", None, 500_000),
        ("A2", "1001", -120_000),
    ]


def test_fractions_of_a_cent_are_refused():
    with pytest.raises(StatementFileError, match="has fractions of a cent"):
        ofxfile.parse(ofx([], balance="10.005"))


def test_an_empty_file():
    for parse in (ofxfile.parse, lambda data: csvfile.parse(data, CHASE)):
        with pytest.raises(StatementFileError, match="The file is empty."):
            parse(b"")
