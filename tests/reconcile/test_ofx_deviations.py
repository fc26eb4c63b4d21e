"""OFX as banks write it (trustweb/bankfiles/ofxfile.py) and the checks that a statement is the trust account's
(trustweb/bankfiles/checks.py): the file read on its own, then one refusal of each kind through the upload page."""

import io
from datetime import date

import pytest

from tests.conftest import csrf_token
from tests.factories import gen_account, gen_user
from tests.reconcile.steps import ofx
from trustweb.bankfiles import ParsedStatement, StatementFileError, checks, ofxfile

ROWS = [("A1", "20261003", "ADA ARCHER", 500_000, None), ("A2", "20261016", "CHECK", -120_000, "1001")]
HEADER = (
    b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
    b"COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n"
)


def statement(**changes):
    data = ofx(ROWS, start="20261001", end="20261031", balance="3800.00")
    for old, new in changes.items():
        data = data.replace(old.encode() if isinstance(old, str) else old, new)
    return data


def body():
    return statement()[statement().index(b"<OFX>") :]


def read_back(data):
    parsed = ofxfile.parse(data)
    return len(parsed.lines), sum(line.amount_cents for line in parsed.lines), parsed.ending_balance_cents


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(body(), id="no header"),
        pytest.param(
            b"\xef\xbb\xbf\r\n\r\n" + HEADER.replace(b"\n", b"\r\n") + b"\r\n" + body(), id="BOM, blank lines"
        ),
        pytest.param(b"<!-- " + HEADER + b" -->\n" + body(), id="header in a comment"),
        pytest.param(HEADER.replace(b"\n", b"") + body().replace(b"\n", b""), id="all on one line"),
        pytest.param(HEADER.replace(b"CHARSET:1252", b"CHARSET:8859-1") + body(), id="CHARSET 8859-1"),
        pytest.param(HEADER.replace(b"CHARSET:1252", b"CHARSET:WESTERN") + body(), id="odd CHARSET"),
        pytest.param(
            b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<?OFX OFXHEADER="200" VERSION="211" '
            b'SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n' + body(),
            id="XML processing instructions",
        ),
        pytest.param(b"<?OFX OFXHEADER='200' VERSION='220'?>" + body(), id="XML header alone"),
        pytest.param(statement(**{"<BANKID>121000248": b"<BANKID>0012100024899"}), id="13-digit BANKID"),
        pytest.param(statement(**{"<LANGUAGE>ENG": b"<LANGUAGE><MEMO></MEMO><SIC/>"}), id="empty tags"),
        pytest.param(statement(**{"</STMTTRN>": b""}), id="transactions never closed"),
        pytest.param(statement(**{"<NAME>ADA": b"<INTU.XID>7<CATEGORY>Uncategorised<NAME>ADA"}), id="tags of its own"),
    ],
)
def test_what_banks_write_is_read(data):
    assert read_back(data) == (2, 380_000, 380_000)


def test_latin_1_text_is_kept_as_written():
    data = statement(**{"ADA ARCHER": "CAFÉ SÃO JOÃO".encode("latin-1")})
    assert ofxfile.parse(data).lines[0].description == "CAFÉ SÃO JOÃO"


def test_utf_8_under_a_1252_header_is_read_as_utf_8():
    data = statement(**{"ADA ARCHER": "CAFÉ SÃO JOÃO".encode()})
    assert ofxfile.parse(data).lines[0].description == "CAFÉ SÃO JOÃO"


def test_amounts_with_a_decimal_comma():
    data = statement(**{"5000.00": b"5.000,00", "-1200.00": b"-1200,00", "3800.00": b"3800,00"})
    assert read_back(data) == (2, 380_000, 380_000)


def test_no_ledger_balance_keeps_the_lines_and_leaves_the_balance_to_the_person():
    data = statement(**{"<LEDGERBAL><BALAMT>3800.00": b"<LEDGERBAL><BALAMT>"})
    assert read_back(data) == (2, 380_000, None)
    data = statement(**{"<LEDGERBAL><BALAMT>3800.00<DTASOF>20261031</LEDGERBAL>": b""})
    assert read_back(data) == (2, 380_000, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Date,Amount\n2026-10-03,1.00\n", "it has no <OFX> section"),
        (statement(**{"<TRNAMT>5000.00": b"<TRNAMT>lots"}), "amount of transaction 1 (A1) “lots” is not an amount"),
        (statement(**{"<DTPOSTED>20261016": b"<DTPOSTED>20261399"}), "date of transaction 2 (A2) “20261399”"),
        (statement(**{"<DTPOSTED>20261016": b"<DTPOSTED>"}), "transaction 2 (A2) has no date"),
        (statement(**{"<STMTRS>": b"<CCSTMTRS>", "</STMTRS>": b"</CCSTMTRS>"}), "credit card's statement"),
        (statement(**{"<STMTRS>": b"<INVSTMTRS>", "</STMTRS>": b"</INVSTMTRS>"}), "investment (brokerage)"),
        (
            statement(**{"<CODE>0<SEVERITY>INFO</STATUS>\n<STMTRS>": b"<CODE>15500<MESSAGE>Signon invalid</STATUS>"}),
            "holds an error instead of a statement: Signon invalid",
        ),
    ],
)
def test_what_cannot_be_imported_is_said_in_words(data, message):
    with pytest.raises(StatementFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ofxfile.parse(data)


def two_accounts(first="4471", second="9023"):
    one = statement()
    start, end = one.index(b"<STMTTRNRS>"), one.index(b"</STMTTRNRS>") + len(b"</STMTTRNRS>")
    block = one[start:end]
    return one[:start] + block.replace(b"4471", first.encode()) + block.replace(b"4471", second.encode()) + one[end:]


def test_of_several_accounts_the_trust_accounts_is_imported():
    assert ofxfile.parse(two_accounts(second="555 9023"), "9023").account_number == "555 9023"
    with pytest.raises(
        StatementFileError, match=r"2 accounts \(account ending 4471, account ending 9023\), none ending 0001"
    ):
        ofxfile.parse(two_accounts(), "0001")
    with pytest.raises(StatementFileError, match="Record the last four digits"):
        ofxfile.parse(two_accounts(), None)


def test_a_masked_account_number_is_not_checked():
    assert checks.last_four("XXXXXXXXXXX") is None and checks.last_four("1452687~7") == "6877"
    checks.check_account(ParsedStatement(account_number="XXXX12"), name="Trust", account_last4="0001", currency="USD")


@pytest.mark.parametrize(
    ("number", "currency", "message"),
    [
        ("0012341234", "CAD", "This statement is for account ending 1234 in CAD; Trust ends 0001 and is kept in USD."),
        ("0012341234", "USD", "This statement is for account ending 1234 in USD; Trust ends 0001 and is kept in USD."),
        ("9990001", "EUR", "This statement is for account ending 0001 in EUR; Trust ends 0001 and is kept in USD."),
    ],
)
def test_another_accounts_statement_is_refused_with_both_shown(number, currency, message):
    parsed = ParsedStatement(lines=[], period_end=date(2026, 10, 31), account_number=number, currency=currency)
    with pytest.raises(StatementFileError, match=message):
        checks.check_account(parsed, name="Trust", account_last4="0001", currency="USD")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            statement(**{"<CURDEF>USD": b"<CURDEF>CAD"}),
            "account ending 4471 in CAD; Trust ends 4471 and is kept in USD",
        ),
        (statement(**{"<ACCTID>4471": b"<ACCTID>00001234"}), "account ending 1234 in USD; Trust ends 4471"),
        (two_accounts("1111", "2222"), "none ending 4471 like the trust account"),
        (statement(**{"<STMTRS>": b"<CCSTMTRS>", "</STMTRS>": b"</CCSTMTRS>"}), "credit card's statement"),
    ],
)
def test_the_upload_page_refuses_another_accounts_statement(app, client, auth, data, message):
    with app.app_context():
        account = gen_account("Trust", account_last4="4471").id
        bookkeeper = gen_user("bookkeeper")
    auth.login_as(bookkeeper)
    form = {"csrf_token": csrf_token(client), "source": "ofx", "file": (io.BytesIO(data), "october.ofx")}
    response = client.post(f"/reconciliations/accounts/{account}/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
