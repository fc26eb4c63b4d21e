"""A signed period stays as it was counted, however a line is matched afterwards; bank items booked late are
counted where they belong; and files and forms that once crashed the import are refused with the reason."""

import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token, post
from tests.dates import iso, month_day, month_end, month_start, us
from tests.ledger.test_races import at_once
from tests.reconcile.steps import CHASE_HEADER, chase_csv, clean_month, compact, day, last_day, next_month, ofx
from tests.reconcile.test_reconciliation import MAPPING, statement_id, totals, typed, upload
from trustweb import bankfiles
from trustweb.extensions import db
from trustweb.models import AuditEvent, BankAccount, BankStatement, JournalEntry, Reconciliation, StatementLine, User
from trustweb.refusals import ServiceError
from trustweb.services import statements
from trustweb.services.reconciliation import three_way
from trustweb.services.trust import Holder, record_deposit


def late_line():
    """Ada's $100 wire on the day before the month's last: two days before the next month's first (in the window)."""
    return (us(last_day() - timedelta(days=1)), "WIRE FROM ADA ARCHER", 10_000, None)


def sign(client, sid, explanation=None):
    data = {"explanation": explanation} if explanation else None
    response = post(client, f"/reconciliations/statements/{sid}/sign", data)
    assert response.status_code == 303, response.get_data(as_text=True)


def deposit_on(app, month, day, amount=10_000):
    with app.app_context():
        entry = record_deposit(
            account=db.session.get(BankAccount, month.account),
            holder=Holder(month.client_a, month.matter_a1),
            amount_cents=amount,
            entry_date=day,
            method="wire",
            payer="Ada Archer",
        )
        return entry.id


def line_id_of(app, amount):
    with app.app_context():
        return db.session.scalar(select(StatementLine.id).where(StatementLine.amount_cents == amount))


def test_a_deposit_the_bank_had_in_one_month_and_the_firm_booked_in_the_next(app, client, month):
    """The bank credits $100 on the 25th; the firm books it only on the 1st of the next month (too late to match
    automatically). The month: the line is in the bank and not in the journal, so the difference is explained and
    signed. The next month's page points back to it; on the month's page it is matched to the entry of the 1st;
    the next month then agrees."""
    late = (us(day(25)), "WIRE FROM ADA ARCHER", 10_000, None)
    upload(client, month.account, chase_csv([*clean_month(), late]), period_end=iso(last_day()), ending_balance="6,400")
    first = statement_id(app)
    figures, page = totals(client, first)
    assert figures["diff-bank"] == "$100.00" and "WIRE FROM ADA ARCHER" in page
    sign(client, first, "Ada's wire of the 25th is not booked yet.")
    signed_figures = figures
    entry_id = deposit_on(app, month, next_month(1))
    line_id = line_id_of(app, 10_000)
    next_month_rows = [(us(next_month(2)), "X", 1, None), (us(next_month(2)), "Y", -1, None)]
    upload(
        client,
        month.account,
        chase_csv(next_month_rows),
        period_start=iso(next_month(1)),
        period_end=iso(next_month(20)),
        ending_balance="6,400",
    )
    second = statement_id(app)
    figures, page = totals(client, second)
    # Counted twice: in the bank's balance and in transit; the first month's line is listed as the bank's, not booked.
    assert figures["transit"] == "$100.00" and figures["diff-bank"] == "$100.00"
    assert f'href="/reconciliations/statements/{first}">statement to {iso(last_day())}</a> (1)' in page
    # The first month's signed page offers the entry booked after the locked period (and nothing dated inside it).
    page = client.get(f"/reconciliations/statements/{first}").get_data(as_text=True)
    form = page[page.index(f'id="line-{line_id}"') :].split("</tr>")[0]
    assert f'value="{entry_id}"' in form and "Match" in form
    response = post(client, f"/reconciliations/statements/{first}/lines/{line_id}/match", {"entry_id": entry_id})
    assert response.status_code == 303
    # The first month's figures do not move (the line is "booked after the period"); the second's transit is gone.
    figures, page = totals(client, first)
    assert figures == signed_figures and f"booked {iso(next_month(1))}, after the period" in page
    figures, page = totals(client, second)
    assert figures["transit"] == "$0.00" and figures["adjusted"] == figures["journal"] == "$6,400.00"
    assert 'id="earlier-unmatched"' not in page


def test_automatic_matching_leaves_a_signed_period_as_it_was_counted(app, client, month):
    upload(
        client,
        month.account,
        chase_csv([*clean_month(), late_line()]),
        period_end=iso(last_day()),
        ending_balance="6,400",
    )
    sid = statement_id(app)
    sign(client, sid, "Ada's late wire is not in the books yet.")
    signed_figures, _ = totals(client, sid)
    # A deposit dated inside the locked period cannot be booked; one booked on the 1st of the next month is matched
    # automatically (the line's window) and the signed month still counts the line as not in its journal.
    entry_id = deposit_on(app, month, next_month(1))
    assert post(client, f"/reconciliations/statements/{sid}/auto-match").status_code == 303
    with app.app_context():
        line = db.session.get(StatementLine, line_id_of(app, 10_000))
        assert line.entry_id == entry_id
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "statement.auto_matched")) >= 1
        stored = json.loads(db.session.scalar(select(Reconciliation.report_json)))
        live = three_way(db.session.get(BankStatement, sid))
        keys = ("adjusted_bank_cents", "journal_cents", "clients_cents", "deposits_in_transit_cents")
        assert [live[key] for key in keys] == [stored[key] for key in keys]
        assert [i["line_id"] for i in live["unmatched_lines"]] == [i["line_id"] for i in stored["unmatched_lines"]]
    figures, _ = totals(client, sid)
    assert figures == signed_figures and figures["diff-bank"] == "$100.00"
    # A locked line stays matched to what the signed report counted; unmatching the late one is allowed.
    locked_line = line_id_of(app, 500_000)
    refused = post(client, f"/reconciliations/statements/{sid}/lines/{locked_line}/unmatch")
    assert refused.status_code == 422 and f"signed through {iso(last_day())}" in refused.get_data(as_text=True)
    assert post(client, f"/reconciliations/statements/{sid}/lines/{line_id_of(app, 10_000)}/unmatch").status_code == 303


def test_no_statement_is_imported_or_typed_into_a_signed_period(app, client, month):
    upload(client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="6,300")
    sign(client, statement_id(app))
    month_before = chase_csv([(us(month_day(3, 15)), "DEPOSIT", 5_000, None)])
    early_in_the_month = chase_csv([(us(day(1)), "DEPOSIT", 5_000, None)])
    for data, end in ((month_before, iso(month_end(3))), (early_in_the_month, iso(day(2)))):
        response = upload(client, month.account, data, period_end=end, ending_balance="50")
        assert response.status_code == 422 and f"signed off through {iso(last_day())}" in response.get_data(
            as_text=True
        )
    response = typed(client, month.account, iso(day(15)), iso(next_month(15)), "1")
    assert response.status_code == 422 and "signed off through" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 1


def test_a_typed_statement_takes_only_entries_of_its_period(app, client, month):
    response = typed(client, month.account, iso(day(1)), iso(last_day()), "7,500")
    assert response.status_code == 303
    later = deposit_on(app, month, next_month(20))
    response = post(client, f"/reconciliations/statements/{statement_id(app)}/tick", {"entry_id": later})
    assert response.status_code == 422 and "after this statement ends" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"period_start": "0001-01-01", "period_end": iso(last_day())}, "starts before 2000-01-01"),
        ({"period_start": iso(next_month(1)), "period_end": "2999-12-31"}, "ends after today"),
        ({"period_start": iso(month_start(24)), "period_end": iso(last_day())}, "more than a year"),
        ({"period_start": iso(last_day()), "period_end": iso(day(1))}, "starts after it ends"),
        ({"period_start": iso(day(1)), "period_end": "99999-01-01"}, "is not a date"),
    ],
)
def test_a_typed_statement_with_impossible_dates_is_refused(app, client, month, fields, message):
    response = typed(client, month.account, fields["period_start"], fields["period_end"], "1")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 0


def last_day_ofx(amount="100.00", last=None, posted=None, fitid="F1"):
    """A month's OFX statement (the books' month unless `last` says) with one $100 deposit at 8 pm EST on its last
    day, the file ending a second before midnight EST."""
    last = last or last_day()
    data = ofx(
        [(fitid, "DAY", "DEPOSIT", 100_00, None)],
        start=compact(last.replace(day=1)),
        end=f"{compact(last)}235959[-5:EST]",
        balance="6300.00",
    )
    posted = posted or f"{compact(last)}200000[-5:EST]"
    return data.replace(b"<TRNAMT>100.00", f"<TRNAMT>{amount}".encode()).replace(
        b"<DTPOSTED>DAY", f"<DTPOSTED>{posted}".encode()
    )


def test_ofx_times_are_the_firms_days(app, client, month):
    """8 pm and 23:59:59 EST on Oct 31, 2026 are Nov 1 in UTC, and 23:59:59 EST is already Nov 1 on New York's
    clocks (EDT until Nov 1 that year): the statement is October's, as the bank wrote it. (A day in the past, chosen
    for its clock change; it never ages.)"""
    halloween = date(2026, 10, 31)
    response = upload(client, month.account, last_day_ofx(last=halloween), source="ofx")
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        statement = db.session.get(BankStatement, statement_id(app))
        line = db.session.scalar(select(StatementLine))
        assert (statement.period_end, line.posted_on) == (halloween, halloween)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (last_day_ofx(amount="0.005"), "fractions of a cent"),
        (last_day_ofx(amount="NaN"), "is not an amount"),
        (last_day_ofx(amount="Infinity"), "is not an amount"),
        (last_day_ofx(amount="100000000000000000000"), "larger than the books hold"),
        (last_day_ofx(amount="9E+999998"), "larger than the books hold"),
        (last_day_ofx().replace(b"<BALAMT>6300.00", b"<BALAMT>1E+30"), "larger than the books hold"),
        (ofx([], start=compact(last_day()), end=compact(day(1)), balance="1.00"), "starts after it ends"),
        (last_day_ofx(posted="00010103"), "starts before 2000-01-01"),
    ],
)
def test_an_ofx_file_with_impossible_figures_is_refused(app, client, month, data, message):
    response = upload(client, month.account, data, source="ofx")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 0


def test_an_ofx_statement_without_movements_is_a_statement_without_lines(app, client, month):
    empty = ofx([], balance="6300.00")
    response = upload(client, month.account, empty, source="ofx")
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BankStatement, statement_id(app)).line_count == 0
    no_list = empty.split(b"<BANKTRANLIST>")[0] + b"<LEDGERBAL>" + empty.split(b"<LEDGERBAL>")[1]
    response = upload(client, month.account, no_list, source="ofx", filename="again.ofx")
    assert response.status_code == 422 and "end date" in response.get_data(as_text=True)


def test_bank_ids_seen_before_are_found_past_the_first_thousand(app, client, month):
    assert upload(client, month.account, last_day_ofx(fitid="DUP"), source="ofx").status_code == 303
    rows = [(f"N{i}", compact(next_month(1)), "DEPOSIT", 100 + i, None) for i in range(1_001)] + [
        ("DUP", compact(next_month(2)), "DEPOSIT", 99, None)
    ]
    response = upload(
        client, month.account, ofx(rows, start=compact(next_month(1)), end=compact(next_month(20))), source="ofx"
    )
    assert response.status_code == 422 and "already imported" in response.get_data(as_text=True)


def test_csv_cells_too_long_or_with_nul_characters(app, client, month):
    huge = (CHASE_HEADER + f"\nCREDIT,{us(day(3))}," + "x" * 140_000 + ",5000.00,ACH_CREDIT,0,\n").encode()
    response = upload(client, month.account, huge, period_end=iso(last_day()), ending_balance="1")
    assert response.status_code == 422 and "Row 2 cannot be read" in response.get_data(as_text=True)
    columns = client.post(
        f"/reconciliations/accounts/{month.account}/columns",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(huge), "s.csv")},
        content_type="multipart/form-data",
    )
    assert columns.status_code == 200  # the columns are read from the header, which is fine
    nul = chase_csv(clean_month()).replace(b"WIRE FROM ADA", b"WIRE\x00FROM ADA")
    assert upload(client, month.account, nul, period_end=iso(last_day()), ending_balance="6,300").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(StatementLine.description).where(StatementLine.amount_cents == 500_000)) == (
            "WIREFROM ADA ARCHER"
        )
    signed = post(client, f"/reconciliations/statements/{statement_id(app)}/sign", {"explanation": "a\x00b"})
    assert signed.status_code == 303


@pytest.mark.parametrize(
    "url",
    ["/reports/journal?account=%C2%B2", "/reports/client-ledger?client=%C2%B2", "/reports/client-ledger?matter=a%00b"],
)
def test_odd_characters_in_report_filters_are_400s(app, client, month, url):
    assert client.get(url).status_code == 400


def test_a_superscript_entry_number_is_refused(app, client, month):
    upload(client, month.account, chase_csv([late_line()]), period_end=iso(last_day()), ending_balance="100")
    sid, line_id = statement_id(app), line_id_of(app, 10_000)
    response = post(client, f"/reconciliations/statements/{sid}/lines/{line_id}/match", {"entry_id": "²"})
    assert response.status_code == 422 and "Choose an entry" in response.get_data(as_text=True)


def test_two_lines_matched_to_one_entry_at_once_one_is_refused(app, client, month):
    """Two bookkeepers, one $100 entry, two $100 bank lines: one match lands, the other is told why."""
    entry_id = deposit_on(app, month, day(20))
    rows = [(us(day(25)), "DEPOSIT A", 10_000, None), (us(day(26)), "DEPOSIT B", 10_000, None)]
    with app.app_context():
        account = db.session.get(BankAccount, month.account)
        statement, _ = statements.import_statement(
            account,
            source="csv",
            filename="month.csv",
            data=chase_csv(rows),
            user=db.session.scalar(select(User).where(User.role == "bookkeeper")),
            mapping=MAPPING,
            period_end=last_day(),
            ending_balance_cents=10_000,
        )
        lines = db.session.scalars(select(StatementLine.id).order_by(StatementLine.id)).all()
        for line in db.session.scalars(select(StatementLine)):
            line.entry_id = line.matched_at = line.matched_by_id = None
        db.session.commit()

    def matcher(line_id):
        def run():
            user = db.session.scalar(select(User).where(User.role == "bookkeeper"))
            statements.match(db.session.get(StatementLine, line_id), db.session.get(JournalEntry, entry_id), user)
            return 1

        return run

    outcomes = at_once(app, [matcher(line_id) for line_id in lines])
    assert sorted(type(o).__name__ for o in outcomes) == ["ServiceError", "int"], outcomes
    assert any(isinstance(o, ServiceError) and "already matched" in str(o) for o in outcomes)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(StatementLine.entry_id == entry_id)) == 1


def test_a_statement_imported_by_mistake_is_deleted_and_imported_again(app, client, month):
    wrong = chase_csv(clean_month())
    upload(client, month.account, wrong, period_end=iso(last_day()), ending_balance="63,000")  # a zero too many
    sid = statement_id(app)
    page = client.get(f"/reconciliations/statements/{sid}").get_data(as_text=True)
    assert 'id="delete-statement"' in page
    response = post(client, f"/reconciliations/statements/{sid}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/reconciliations/")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementLine)) == 0
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "statement.deleted"))
        assert '"ending_balance_cents":6300000' in event.before.replace(" ", "")
        assert '"matched":3' in event.before.replace(" ", "")
    # The same file again, with the right balance: imported and matched.
    assert upload(client, month.account, wrong, period_end=iso(last_day()), ending_balance="6,300").status_code == 303
    sid = statement_id(app)
    sign(client, sid)
    refused = post(client, f"/reconciliations/statements/{sid}/delete")
    assert refused.status_code == 422 and "signed off" in refused.get_data(as_text=True)
    assert 'id="delete-statement"' not in client.get(f"/reconciliations/statements/{sid}").get_data(as_text=True)


def test_months_are_signed_in_order(app, client, month):
    upload(client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="6,300")
    first = statement_id(app)
    upload(
        client,
        month.account,
        chase_csv([(us(next_month(2)), "X", 1, None), (us(next_month(2)), "Y", -1, None)]),
        period_start=iso(next_month(1)),
        period_end=iso(next_month(20)),
        ending_balance="6,300",
    )
    second = statement_id(app)
    refused = post(client, f"/reconciliations/statements/{second}/sign", {"explanation": "Two test lines."})
    assert refused.status_code == 422 and f"statement to {iso(last_day())} first" in refused.get_data(as_text=True)
    sign(client, first)
    sign(client, second, "Two test lines, X and Y, cancel out.")


class Unread(io.RawIOBase):
    """An upload's body that counts what the server reads of it."""

    def __init__(self, size):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"x" * n
        self.position += n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_upload_beyond_the_cap_is_refused_before_it_is_read(app, client, month, htmx):
    """A 50 MB "statement" is a 413 with the limit in words, and the server reads none of it."""
    cap = app.config["MAX_CONTENT_LENGTH"]
    assert cap is not None and bankfiles.MAX_BYTES < cap <= bankfiles.MAX_BYTES + 4 * 2**20
    body = Unread(50 * 2**20)
    response = client.post(
        f"/reconciliations/accounts/{month.account}/import",
        input_stream=body,
        content_length=body.size,
        content_type="multipart/form-data; boundary=x",
        headers={"X-CSRFToken": csrf_token(client), **({"HX-Request": "true"} if htmx else {})},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert body.read_bytes == 0
    assert f"larger than {cap // 2**20} MB" in html and "one month at a time" in html
    if htmx:
        assert response.headers["HX-Retarget"] == "#messages" and "<html" not in html
    else:
        assert "<html" in html and "Too large" in html and "Error 413" in html


def test_a_statement_at_the_file_limit_still_fits_under_the_cap(app, client, month):
    """The cap is for the whole request: a file just under the statement limit, with the form's fields, gets
    through to the import (which reads it and says what is wrong with it)."""
    data = b"Posting Date,Amount\n" + b"x" * (bankfiles.MAX_BYTES - 100)
    response = upload(client, month.account, data, period_end=iso(last_day()), ending_balance="1")
    assert response.status_code == 422
    assert "larger than" not in response.get_data(as_text=True)
