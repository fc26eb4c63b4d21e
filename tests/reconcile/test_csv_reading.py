"""CSV statements as banks really write them: read on their own (trustweb/bankfiles), then through the import's
preview and Confirm."""

import io
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.dates import iso
from tests.reconcile.steps import day, last_day
from trustweb.bankfiles import StatementFileError, csvfile
from trustweb.bankfiles.checks import last_four
from trustweb.bankfiles.csvaccount import stated_account
from trustweb.bankfiles.csvlayout import sniff
from trustweb.bankfiles.csvvalues import DATE_FORMATS, AmbiguousDates, decimal_mark, infer_date_format, read_amount
from trustweb.extensions import db
from trustweb.models import BankAccount, StatementLine


def lines(data, mapping=None):
    layout = sniff(data)
    reading = csvfile.read(data, mapping or csvfile.guess_mapping(layout, {}))
    return [(line.posted_on, line.amount_cents) for line in reading.statement.lines], reading


# --- the file's layout ---------------------------------------------------------------------------------------------


def test_a_file_without_a_header_keeps_its_first_line():
    data = (
        b"2026-10-01,WIRE,500.00\n2026-10-02,DEPOSIT,250.00\n2026-10-03,CHECK,-120.00\n2026-10-04,A,1\n2026-10-05,B,2\n"
    )
    read, reading = lines(data)
    assert len(read) == 5 and read[0] == (date(2026, 10, 1), 50_000)
    assert reading.layout.names == ["Column 1", "Column 2", "Column 3"]
    assert any("no header row" in note for note in reading.notes)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_the_one_that_splits_every_line_alike(delimiter):
    rows = [["Date", "Description", "Amount"], ["2026-10-03", "Smith, Jones; and co | ltd", "12.00"]]
    data = "\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows).encode()
    assert sniff(data).delimiter == delimiter
    assert lines(data)[0] == [(date(2026, 10, 3), 1_200)]


def test_a_semicolon_file_with_a_title_and_decimal_commas_in_windows_1252():
    data = "Kontoauszug Treuhandkonto\nKonto;12345678;;\n\nBuchungstag;Text;Betrag\n03.10.2026;Überweisung;1.234,56\n"
    data += "04.10.2026;Gebühr;-12,50\n"
    read, reading = lines(data.encode("cp1252"))
    assert read == [(date(2026, 10, 3), 123_456), (date(2026, 10, 4), -1_250)]
    assert reading.statement.lines[0].description == "Überweisung"
    assert reading.numbers == [5, 6]  # rows as a spreadsheet numbers them


def test_utf8_with_a_bom_and_utf16():
    text = "Date,Description,Amount\n2026-10-03,Café,1.00\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        _, reading = lines(data)
        assert reading.layout.names[0] == "Date" and reading.statement.lines[0].description == "Café"


def test_totals_after_the_last_transaction_and_blank_lines_are_skipped_and_said():
    data = (
        b"Date,Description,Amount\n2026-10-03,A,10.00\n\n2026-10-04,B,-2.00\n\nTotal,,8.00\nClosing balance,,108.00\n"
    )
    read, reading = lines(data)
    assert read == [(date(2026, 10, 3), 1_000), (date(2026, 10, 4), -200)]
    assert [number for number, _ in reading.skipped] == [6, 7]
    assert "2 blank lines ignored." in reading.notes


def test_a_mistyped_date_on_the_last_row_is_an_error_not_a_total():
    with pytest.raises(StatementFileError, match="Row 3: “2026-13-04” in “Date” is not a date"):
        lines(b"Date,Description,Amount\n2026-10-03,A,10.00\n2026-13-04,B,-2.00\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "not text"),
        (b"just one column\nof words\n", "single column"),
        (b"Date,Amount\n", "no statement lines"),
        (b"Date,Amount\n2026-10-03,1.00\n2026-10-04,1.00,extra,cells\n2026-10-05\n", ""),
        (b"Date,Amount\n" + b"2026-10-03," + b"9" * 200_000 + b"\n", "Row 2"),
    ],
)
def test_bad_files_are_refused_in_words(data, message):
    try:
        lines(data)
    except StatementFileError as error:
        assert message in str(error)
    else:
        assert message == ""  # ragged rows are read: the cells past the header's are not used


# --- dates ---------------------------------------------------------------------------------------------------------


@given(st.lists(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)), min_size=1, max_size=20))
def test_dates_written_any_way_read_back_and_day_month_swaps_are_asked(days):
    for key in DATE_FORMATS:
        written = [(n + 2, d.strftime(key)) for n, d in enumerate(days)]
        fmt = DATE_FORMATS[key]
        if "%y" in key and any(not 1969 <= d.year <= 2068 for d in days):
            continue
        assert [fmt.read(text) for _, text in written] == days
        swappable = fmt.order in ("dmy", "mdy") and "%b" not in key and all(d.day <= 12 for d in days)
        partner = key.replace("%d", "%M").replace("%m", "%d").replace("%M", "%m")
        if swappable and partner in DATE_FORMATS:
            with pytest.raises(AmbiguousDates):
                infer_date_format(written, "Date")
        else:
            found = DATE_FORMATS[infer_date_format(written, "Date")]
            assert [found.read(text) for _, text in written] == days


def test_one_day_past_the_12th_decides_the_order():
    assert infer_date_format([(2, "03/04/2026"), (3, "25/04/2026")], "Date") == "%d/%m/%Y"
    assert infer_date_format([(2, "03/04/2026"), (3, "04/25/2026")], "Date") == "%m/%d/%Y"
    assert infer_date_format([(2, "2025.12.04")], "Date") == "%Y.%m.%d"
    with pytest.raises(StatementFileError, match="Row 3: “13/25/2026” in “Date” is not a date written like"):
        infer_date_format([(2, "03/04/2026"), (3, "13/25/2026")], "Date")


# --- amounts -------------------------------------------------------------------------------------------------------

STYLES = [
    lambda c: f"{c / 100:,.2f}",
    lambda c: f"{c / 100:,.2f}".replace(",", "_").replace(".", ",").replace("_", "."),
    lambda c: f"{c / 100:,.2f}".replace(",", " ").replace(".", ","),
    lambda c: f"{c / 100:.2f}",
    lambda c: f"${c / 100:,.2f}",
    lambda c: f"CA${c / 100:,.2f}",
    lambda c: f"USD {c / 100:,.2f}",
    lambda c: f"{c / 100:,.2f} €".replace(",", "_").replace(".", ",").replace("_", "."),
    lambda c: f"£{c / 100:,.2f}",
]


@given(st.integers(min_value=0, max_value=10**11), st.sampled_from(range(len(STYLES))))
def test_an_amount_in_any_style_reads_back_to_the_cent(cents, style):
    written = STYLES[style](cents)
    mark = decimal_mark([written])
    assert read_amount(written, mark) == cents
    assert read_amount(f"+{written}", mark) == cents
    assert read_amount(f"-{written}", mark) == -cents
    assert read_amount(f"({written})", mark) == -cents
    assert read_amount(f"{written}-", mark) == -cents
    assert read_amount(f"{written} CR", mark) == cents
    assert read_amount(f"{written} DR", mark) == -cents


@pytest.mark.parametrize(
    ("written", "message"),
    [("12.345", "fractions of a cent"), ("1,2,3", "grouped oddly"), ("(-12.00)", "more than one sign"), ("12x", "not")],
)
def test_an_amount_that_cannot_be_read_says_why(written, message):
    with pytest.raises(ValueError, match=message):
        read_amount(written, ".")


def test_debit_and_credit_columns_a_cr_dr_column_and_a_card_export():
    data = b'Date,Memo,Debit,Credit\n2026-10-03,Wire,,"5,000.00"\n2026-10-04,Note,,\n2026-10-16,Cheque,1200.00,\n'
    read, reading = lines(data)
    assert read == [(date(2026, 10, 3), 500_000), (date(2026, 10, 16), -120_000)]
    assert reading.skipped == [(3, "no amount (a note or a zero movement)")]
    typed = b"Date,Description,Amount,Type\n2026-10-03,a,10.00,CR\n2026-10-04,b,5.00,DR\n"
    assert lines(typed)[0] == [(date(2026, 10, 3), 1_000), (date(2026, 10, 4), -500)]
    with pytest.raises(StatementFileError, match="Row 3: “X” in “Type” says neither credit"):
        lines(typed.replace(b"DR", b"X"), {"date": "Date", "amount": "Amount", "direction": "Type"})
    card = b"Date,Description,Amount\n2026-10-03,Coffee,4.50\n2026-10-04,Payment,-100.00\n"
    assert lines(card, {"date": "Date", "amount": "Amount", "sign": "out"})[0] == [
        (date(2026, 10, 3), -450),
        (date(2026, 10, 4), 10_000),
    ]


# --- the account and currency the file states ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ending", "currency"),
    [
        (b"Account: ...1234\nCurrency: CAD\nDate,Description,Amount\n2026-10-03,Wire,5.00\n", "1234", "CAD"),
        (
            b"Date,Account,Currency,Amount\n2026-10-03,XXXX-4321,eur,5.00\n2026-10-04,XXXX-4321,EUR,1.00\n",
            "4321",
            "EUR",
        ),
        (b"Acct ending in 9876\nDate,Amount\n2026-10-03,5.00\n", "9876", None),
        (b"00012345;Wire;03.10.2026;+5,00;GBP\n00012345;Fee;04.10.2026;-1,00;GBP\n", None, "GBP"),  # no header
        # Schwab's title: an account's name and a day, no number; masked numbers are not compared.
        (
            b"Transactions for Checking account EAC as of 12/23/2020 16:00:10 ET\nDate,Amount\n12/01/2020,5.00\n",
            None,
            None,
        ),
        (b"Date,Account,Amount\n2026-10-03,XXXXXXXX,5.00\n", None, None),
        (b"Date,Type,Amount\n2026-10-03,ALL,5.00\n2026-10-04,ALL,1.00\n", None, None),  # a header names the column
    ],
)
def test_the_account_number_and_currency_a_file_states(data, ending, currency):
    number, code, _ = stated_account(sniff(data))
    assert (last_four(number), code) == (ending, currency)


def test_a_currency_column_naming_several_currencies_is_said_not_checked():
    data = b"Date,Currency,Amount\n2026-10-03,USD,5.00\n2026-10-04,EUR,1.00\n"
    _, currency, notes = stated_account(sniff(data))
    assert currency is None and "several currencies (EUR, USD)" in notes[0]


# --- through the pages ---------------------------------------------------------------------------------------------


def send(client, account, data, **fields):
    form = {"csrf_token": csrf_token(client), "source": "csv", "file": (io.BytesIO(data), "s.csv"), **fields}
    return client.post(f"/reconciliations/accounts/{account}/import", data=form, content_type="multipart/form-data")


def token_of(page):
    return re.search(r'name="confirm" value="(\w+)"', page).group(1)


def imported(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatementLine))


def test_a_headerless_file_previews_then_imports_all_five_lines(app, client, month):
    rows = [(day(3), 500_000), (day(10), 250_000), (day(16), -120_000), (day(20), 1_000), (day(21), -500)]
    data = "".join(f"{d.isoformat()},LINE {n},{c / 100:.2f}\n" for n, (d, c) in enumerate(rows)).encode()
    fields = {"period_end": iso(last_day()), "ending_balance": "6,305.00"}
    columns = client.post(
        f"/reconciliations/accounts/{month.account}/columns",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(data), "s.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert '<option value="Column 1" selected>' in columns and "no header row" in columns
    mapping = {"date": "Column 1", "description": "Column 2", "amount": "Column 3"}
    preview = send(client, month.account, data, **fields, **mapping)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "5 lines" in page and "LINE 0" in page and imported(app) == 0
    done = send(client, month.account, data, **fields, **mapping, confirm=token_of(page))
    assert done.status_code == 303
    assert imported(app) == 5
    with app.app_context():
        assert '"date_format": "%Y-%m-%d"' in db.session.get(BankAccount, month.account).csv_mapping


def test_a_semicolon_file_with_a_title_line_imports(app, client, month):
    data = f"Trust account 0001 statement\nDate;Description;Amount\n{day(3):%d.%m.%Y};Wire;5.000,00\n"
    data += f"{day(16):%d.%m.%Y};Check 1001;-1.200,00\n"
    fields = {"period_end": iso(last_day()), "ending_balance": "3800", "date": "Date", "amount": "Amount"}
    page = send(client, month.account, data.encode(), **fields).get_data(as_text=True)
    assert "Fields separated by semicolons." in page and "$5,000.00" in page and "-$1,200.00" in page
    assert send(client, month.account, data.encode(), **fields, confirm=token_of(page)).status_code == 303
    with app.app_context():
        assert sorted(db.session.scalars(select(StatementLine.amount_cents))) == [-120_000, 500_000]


def test_choices_survive_an_error_and_back_and_ambiguous_dates_are_asked(app, client, month):
    data = f"Date,Details,Value,Kind\n{day(3):%d/%m/%Y},Wire,5000.00,CR\n{day(10):%d/%m/%Y},Fee,15.00,DR\n".encode()
    chosen = {"date": "Date", "amount": "Value", "description": "Details", "direction": "Kind"}
    fields = {"period_end": iso(last_day()), "ending_balance": "4985"}
    response = send(client, month.account, data, **fields, **chosen)
    page = response.get_data(as_text=True)
    if day(3).day <= 12 and day(10).day <= 12:
        assert response.status_code == 422 and "read both day first and month first" in page
        chosen["date_format"] = "%d/%m/%Y"
        response = send(client, month.account, data, **fields, **chosen)
        page = response.get_data(as_text=True)
    assert response.status_code == 200 and "-$15.00" in page
    for key in ("date", "amount", "description", "direction"):
        assert f'<option value="{chosen[key]}" selected>' in page, key
    # Confirm with a changed choice: shown again as now read, nothing kept.
    again = send(client, month.account, data, **fields, **chosen, sign="out", confirm=token_of(page))
    assert again.status_code == 200 and imported(app) == 0
    # Back: the columns as chosen, no preview.
    back = send(client, month.account, data, **fields, **chosen, back="1").get_data(as_text=True)
    assert 'id="csv-preview"' not in back and '<option value="Kind" selected>' in back
    # An error (no ending balance): the choices are still there.
    chosen["date_format"] = "%d/%m/%Y"
    refused = send(client, month.account, data, period_end=iso(last_day()), **chosen)
    token = token_of(refused.get_data(as_text=True))
    refused = send(client, month.account, data, period_end=iso(last_day()), **chosen, confirm=token)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "ending balance" in text and '<option value="Value" selected>' in text
    assert imported(app) == 0


def test_a_file_naming_another_account_or_currency_is_refused_at_its_preview(app, client, month):
    with app.app_context():
        db.session.get(BankAccount, month.account).account_last4 = "0001"
        db.session.commit()
    fields = {"period_end": iso(last_day()), "ending_balance": "5", "date": "Date", "amount": "Amount"}
    for title, said in (("Account: ...1234", "account ending 1234"), ("Currency: CAD", "an account in CAD")):
        data = f"{title}\nDate,Description,Amount\n{iso(day(3))},Wire,5.00\n".encode()
        response = send(client, month.account, data, **fields)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and f"This statement is for {said}" in page and "in USD" in page
        assert 'name="confirm"' not in page and imported(app) == 0
    data = f"Account: ...0001\nCurrency: USD\nDate,Description,Amount\n{iso(day(3))},Wire,5.00\n".encode()
    page = send(client, month.account, data, **fields).get_data(as_text=True)
    assert "The file names account ending 0001." in page and "The file gives its amounts in USD." in page
    assert send(client, month.account, data, **fields, confirm=token_of(page)).status_code == 303
