"""Three-way reconciliation worked through a month, and statement imports of every shape, through HTTP."""

import io
import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from tests.conftest import csrf_token, post
from tests.dates import iso, today, us
from tests.factories import PASSWORD, gen_user
from tests.reconcile.steps import chase_csv, clean_month, compact, day, last_day, next_month, ofx
from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.ledger.rules import BadDate
from trustweb.models import BankAccount, BankStatement, Reconciliation, StatementLine, User
from trustweb.services import statements
from trustweb.services.fees import book_shortfall, replace_shortfall
from trustweb.services.trust import Holder, record_deposit, reverse

MAPPING = {
    "date": "Posting Date",
    "amount": "Amount",
    "description": "Description",
    "reference": "Check or Slip #",
    "date_format": "%m/%d/%Y",
}


def upload(
    client, account_id, data, *, source="csv", filename="statement.csv", mapping=MAPPING, confirm=True, **fields
):
    """The bookkeeper sends the file; a CSV comes back as it will be read, and (confirm) its Confirm is pressed."""

    def send(**more):
        form = {"csrf_token": csrf_token(client), "source": source, "file": (io.BytesIO(data), filename), **fields}
        if source == "csv" and mapping:
            form.update(mapping)
        form.update(more)
        url = f"/reconciliations/accounts/{account_id}/import"
        return client.post(url, data=form, content_type="multipart/form-data")

    response = send()
    token = re.search(r'name="confirm" value="(\w+)"', response.get_data(as_text=True))
    if confirm and response.status_code == 200 and token:
        return send(confirm=token.group(1))
    return response


def typed(client, account_id, start, end, balance):
    """The bookkeeper types a paper statement's first and last day and its ending balance."""
    fields = {"period_start": start, "period_end": end, "ending_balance": balance}
    return post(client, f"/reconciliations/accounts/{account_id}/typed", fields)


def statement_id(app):
    with app.app_context():
        return db.session.scalar(select(func.max(BankStatement.id)))


def totals(client, sid):
    page = client.get(f"/reconciliations/statements/{sid}").get_data(as_text=True)
    return {
        key: re.search(rf'id="t-{key}">([^<]*)<', page).group(1)
        for key in (
            "statement",
            "transit",
            "outstanding",
            "adjusted",
            "journal",
            "clients",
            "diff-bank",
            "diff-clients",
        )
    }, page


def money(cents):
    return format_cents(cents, "USD")


def test_a_clean_month_matches_itself_and_signing_locks_the_period(app, client, month):
    response = upload(
        client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="6,300.00"
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    sid = statement_id(app)
    # The same file again is a duplicate: refused, nothing added.
    again = upload(
        client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="6,300.00"
    )
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    figures, page = totals(client, sid)
    assert (figures["adjusted"], figures["journal"], figures["clients"]) == ("$6,300.00",) * 3
    assert "The three balances agree" in page and page.count('class="matched"') == 3  # matched automatically
    response = post(client, f"/reconciliations/statements/{sid}/sign")
    assert response.status_code == 303
    signed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Three-way reconciliation: Client Trust (IOLTA)" in signed and "$6,300.00" in signed
    # The period is locked: in code, and in the database for anything that gets past the code.
    with app.app_context():
        account = db.session.get(BankAccount, month.account)
        ada = Holder(month.client_a, month.matter_a1)
        with pytest.raises(BadDate, match=f"signed off through {iso(last_day())}"):
            record_deposit(
                account=account, holder=ada, amount_cents=100, entry_date=last_day(), method="cash", payer="Ada"
            )
        db.session.rollback()
        with pytest.raises(DatabaseError):
            db.session.execute(
                text(
                    "INSERT INTO journal_entry (kind, bank_account_id, entry_date, description, created_at) "
                    "VALUES ('deposit', :account, :day, 'sneaked in', CURRENT_TIMESTAMP)"
                ),
                {"account": month.account, "day": day(15)},
            )
        db.session.rollback()
        # The signed reconciliation never changes.
        with pytest.raises(DatabaseError):
            db.session.execute(text("UPDATE reconciliation SET journal_cents = 1"))
        db.session.rollback()
        # A correction of an entry of the signed month is dated today, after the locked period.
        cheque = db.session.scalar(select(StatementLine).where(StatementLine.amount_cents == -120_000)).entry
        correction = reverse(cheque, reason="Cheque cancelled", user=db.session.get(User, month.lawyer))
        assert correction.entry_date > last_day()
        deposit = db.session.scalar(select(StatementLine).where(StatementLine.amount_cents == 250_000)).entry
        with pytest.raises(BadDate):
            reverse(deposit, reason="Bounced", entry_date=day(20))
        db.session.rollback()
    # The signed period's matches stay as they were counted.
    with app.app_context():
        line_id = db.session.scalar(select(StatementLine.id).order_by(StatementLine.id))
    refused = post(client, f"/reconciliations/statements/{sid}/lines/{line_id}/unmatch", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and f"signed through {iso(last_day())}" in refused.get_data(as_text=True)
    # Signing the same period again is refused; the index shows the account up to date.
    assert post(client, f"/reconciliations/statements/{sid}/sign").status_code == 422
    index = client.get("/reconciliations/").get_data(as_text=True)
    assert f'id="last-reconciled-{month.account}">{iso(last_day())}' in index


def test_a_deposit_in_transit_and_an_outstanding_cheque_are_listed_and_still_agree(app, client, month):
    with app.app_context():
        account = db.session.get(BankAccount, month.account)
        record_deposit(
            account=account,
            holder=Holder(month.client_b, month.matter_b1),
            amount_cents=40_000,
            entry_date=last_day(),
            method="cheque",
            payer="Ben Baker",
        )
    # The bank has not cashed cheque 1001 nor seen the deposit of the month's last day.
    rows = clean_month()[:2]
    upload(client, month.account, chase_csv(rows), period_end=iso(last_day()), ending_balance="7,500.00")
    figures, page = totals(client, statement_id(app))
    assert figures["transit"] == "$400.00" and figures["outstanding"] == "$1,200.00"
    assert figures["adjusted"] == figures["journal"] == figures["clients"] == "$6,700.00"
    cheques = re.search(r'id="outstanding-withdrawals">(.*?)</table>', page, re.S).group(1)
    deposits = re.search(r'id="deposits-in-transit">(.*?)</table>', page, re.S).group(1)
    assert "cheque 1001 Recording fees" in cheques and "$1,200.00" in cheques and "Deposit from" not in cheques
    assert "Deposit from Ben Baker" in deposits and "$400.00" in deposits and "Recording fees" not in deposits
    assert "Over 60 days" not in page


def test_equal_deposits_on_neighbouring_days_match_the_one_booked_before_each_bank_line(app, client, month):
    """Two $300 deposits booked on the 20th and the 22nd reach the bank a day later each. The 21st's line is as near
    to both; it is the 20th's (a bank posts what was booked before), which leaves the 22nd's for the 23rd."""
    with app.app_context():
        account = db.session.get(BankAccount, month.account)
        ada = Holder(month.client_a, month.matter_a1)
        first, second = (
            record_deposit(account=account, holder=ada, amount_cents=30_000, entry_date=day, method="cash", payer="Ada")
            for day in (day(20), day(22))
        )
        expected = {iso(day(21)): first.id, iso(day(23)): second.id}
    rows = clean_month() + [(us(day(21)), "DEPOSIT", 30_000, None), (us(day(23)), "DEPOSIT", 30_000, None)]
    upload(client, month.account, chase_csv(rows), period_end=iso(last_day()), ending_balance="6,900.00")
    with app.app_context():
        lines = db.session.scalars(select(StatementLine).where(StatementLine.amount_cents == 30_000)).all()
        assert {line.posted_on.isoformat(): line.entry_id for line in lines} == expected
    figures, page = totals(client, statement_id(app))
    assert figures["transit"] == "$0.00" and "The three balances agree" in page


def test_a_bank_fee_blocks_sign_off_until_the_firm_covers_it(app, client, month):
    rows = [*clean_month(), (us(last_day()), "MONTHLY SERVICE FEE", -2_500, None)]
    upload(client, month.account, chase_csv(rows), period_end=iso(last_day()), ending_balance="6,275.00")
    sid = statement_id(app)
    figures, page = totals(client, sid)
    assert figures["diff-bank"] == "-$25.00" and "MONTHLY SERVICE FEE" in page
    response = post(client, f"/reconciliations/statements/{sid}/sign")
    assert response.status_code == 422 and "do not agree" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reconciliation)) == 0
        # The fee came out of trust: booked as owed by the firm, then replaced from operating.
        account = db.session.get(BankAccount, month.account)
        fee = book_shortfall(account, 2_500, last_day(), "Bank service fee")
        db.session.commit()
        fee_id = fee.id
        line_id = db.session.scalar(select(StatementLine.id).where(StatementLine.amount_cents == -2_500))
    response = post(
        client,
        f"/reconciliations/statements/{sid}/lines/{line_id}/match",
        {"entry_id": fee_id},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    figures, _ = totals(client, sid)
    assert figures["diff-bank"] == "$0.00" and figures["diff-clients"] == "-$25.00"  # the firm owes the clients
    with app.app_context():
        replace_shortfall(db.session.get(BankAccount, month.account), 2_500, last_day())
    figures, page = totals(client, sid)
    assert figures["transit"] == "$25.00" and "The three balances agree" in page
    assert post(client, f"/reconciliations/statements/{sid}/sign").status_code == 303


def test_a_mismatch_is_signed_only_with_an_explanation(app, client, month):
    upload(client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="6,310.00")
    sid = statement_id(app)
    figures, _ = totals(client, sid)
    assert figures["diff-bank"] == "$10.00"
    assert post(client, f"/reconciliations/statements/{sid}/sign", {"explanation": "?"}).status_code == 422
    response = post(
        client,
        f"/reconciliations/statements/{sid}/sign",
        {"explanation": "Bank credited $10 interest twice; ticket 8841 opened with the bank."},
    )
    assert response.status_code == 303
    report = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ticket 8841" in report and "$10.00" in report


def test_a_line_matched_by_hand(app, client, month):
    # The bank wrote the deposit a week late: outside the automatic window, so it waits for a person.
    rows = [
        (us(day(3)), "WIRE FROM ADA ARCHER", 500_000, None),
        (us(day(24)), "DEPOSIT", 250_000, None),
        (us(day(16)), "CHECK 1001", -120_000, "1001"),
    ]
    upload(client, month.account, chase_csv(rows), period_end=iso(last_day()), ending_balance="6,300.00")
    sid = statement_id(app)
    figures, page = totals(client, sid)
    assert figures["transit"] == "$2,500.00" and page.count('class="unmatched"') == 1
    with app.app_context():
        line = db.session.scalar(select(StatementLine).where(StatementLine.entry_id.is_(None)))
        line_id = line.id
    entry_id = re.search(rf'id="match-{line_id}" name="entry_id"><option value="(\d+)"', page).group(1)
    response = post(
        client,
        f"/reconciliations/statements/{sid}/lines/{line_id}/match",
        {"entry_id": entry_id},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="t-transit">$0.00' in body
    # The wrong amount is refused with the reason.
    other = post(client, f"/reconciliations/statements/{sid}/lines/{line_id}/unmatch", headers={"HX-Request": "true"})
    assert other.status_code == 200
    with app.app_context():
        cheque = db.session.scalar(select(StatementLine.entry_id).where(StatementLine.amount_cents == -120_000))
    refused = post(
        client,
        f"/reconciliations/statements/{sid}/lines/{line_id}/match",
        {"entry_id": cheque},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "moved" in refused.get_data(as_text=True)


def test_a_long_statement_is_shown_a_page_at_a_time_with_the_whole_statements_figures(app, client, month):
    """250 bank lines the journal does not have (interest, fees) and a deposit the bank wrote 20 days late: the page
    shows 100 lines at a time (those still to match first), the figures are the whole statement's on every page,
    and the late deposit is matched from the page it is on."""
    with app.app_context():
        late = record_deposit(
            account=db.session.get(BankAccount, month.account),
            holder=Holder(month.client_b, month.matter_b1),
            amount_cents=777,
            entry_date=day(5),
            method="cash",
            payer="Ben Baker",
        ).id
    filler = [(us(day(2 + i % 18)), f"INTEREST {i}", 100 + i, None) for i in range(250)]
    filler_cents = sum(row[2] for row in filler)
    rows = [*clean_month(), *filler, (us(day(25)), "DEPOSIT", 777, None)]
    ending = f"{(630_000 + filler_cents + 777) / 100:.2f}"
    assert (
        upload(client, month.account, chase_csv(rows), period_end=iso(last_day()), ending_balance=ending).status_code
        == 303
    )
    sid = statement_id(app)
    seen, figures = [], []
    for number in (1, 2, 3):
        page = client.get(f"/reconciliations/statements/{sid}?page={number}").get_data(as_text=True)
        assert f"Page {number} of 3" in page
        shown = re.findall(r'<tr id="line-(\d+)" class="(\w+)"', page)
        assert len(shown) == (100 if number < 3 else 54)
        seen += shown
        figures.append(dict(re.findall(r'id="t-([a-z-]+)">([^<]*)<', page)))
        # The lists under the figures stop at a screenful too; the figures count every item.
        summary = re.search(r'id="unmatched-summary">(.*?)</table>', page, re.S).group(1)
        assert summary.count("<tr>") == 100
        assert "151 more" in page  # 251 lines on the statement and not in the journal, 100 listed
    assert figures[0] == figures[1] == figures[2]
    assert figures[0]["transit"] == money(777)
    assert figures[0]["diff-bank"] == money(filler_cents + 777)  # adjusted bank less journal: the whole statement's
    assert len({line for line, _ in seen}) == 254  # every line once
    assert [kind for _, kind in seen] == ["unmatched"] * 251 + ["matched"] * 3  # the lines to match come first
    # The late deposit is the last to match, on page 3; matching it there answers with page 3 again.
    with app.app_context():
        line = db.session.scalar(select(StatementLine.id).where(StatementLine.amount_cents == 777))
    response = post(
        client,
        f"/reconciliations/statements/{sid}/lines/{line}/match?page=3",
        {"entry_id": str(late)},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Page 3 of 3" in body
    assert f'<tr id="line-{line}" class="matched"' in body
    assert re.search(r'id="t-diff-bank"[^>]*>([^<]*)<', body).group(1) == money(filler_cents)
    # Without htmx, back to the page it was on.
    response = post(client, f"/reconciliations/statements/{sid}/lines/{line}/unmatch?page=3")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/statements/{sid}?page=3")


def test_an_ofx_statement_is_imported_with_its_balance_and_period(app, client, month):
    data = ofx(
        [
            ("F1", compact(day(3)), "WIRE ADA ARCHER", 500_000, None),
            ("F2", compact(day(10)), "DEPOSIT", 250_000, None),
            ("F3", compact(day(16)), "CHECK", -120_000, "1001"),
        ],
        balance="6300.00",
    )
    response = upload(client, month.account, data, source="ofx", filename="month.ofx")
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        statement = db.session.get(BankStatement, statement_id(app))
        assert (statement.period_start, statement.period_end, statement.ending_balance_cents) == (
            day(1),
            last_day(),
            630_000,
        )
        assert db.session.scalar(select(func.count()).where(StatementLine.entry_id.is_not(None))) == 3
    # The same file again: refused, nothing added.
    again = upload(client, month.account, data, source="ofx", filename="month-copy.ofx")
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 1


@pytest.mark.parametrize(
    ("data", "source", "message"),
    [
        (b"", "csv", "The file is empty"),
        (b"", "ofx", "The file is empty"),
        (chase_csv(clean_month()).replace(us(day(10)).encode(), b"10 Nov"), "csv", "Row 3"),
        (chase_csv(clean_month()).replace(b"2500.00", b"25OO.00"), "csv", "Row 3: the amount cannot be read"),
        (b"this is not a bank statement", "ofx", "it has no &lt;OFX&gt; section"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "csv", ""),
        (b"Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n", "csv", "no statement lines"),
    ],
)
def test_a_bad_file_imports_nothing_and_says_why(app, client, month, data, source, message):
    response = upload(client, month.account, data, source=source, period_end=iso(last_day()), ending_balance="1.00")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementLine)) == 0


def test_the_column_choice_is_remembered_and_a_huge_file_is_read_whole(app, client, month):
    # First a CSV without saying which column is which: the columns are offered, nothing imported.
    response = upload(
        client, month.account, chase_csv(clean_month()), mapping=None, period_end=iso(last_day()), ending_balance="6300"
    )
    assert response.status_code == 422 and '<option value="Posting Date"' in response.get_data(as_text=True)
    columns = client.post(
        f"/reconciliations/accounts/{month.account}/columns",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(chase_csv(clean_month())), "a.csv")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert '<option value="Posting Date" selected>' in columns.get_data(as_text=True)  # guessed from the names
    # 20,000 lines (a busy account's year, the one before last, clear of the month's): all of them, in one go.
    year = today().year - 2
    rows = [(f"{1 + i % 12:02d}/{1 + i % 28:02d}/{year}", f"DEPOSIT {i}", 1_000 + i, None) for i in range(20_000)]
    response = upload(client, month.account, chase_csv(rows), period_end=f"{year}-12-31", ending_balance="1")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementLine)) == 20_000
        assert "Posting Date" in db.session.get(BankAccount, month.account).csv_mapping
    # Next month the saved choice is used without asking.
    form = client.get(f"/reconciliations/accounts/{month.account}/import").get_data(as_text=True)
    assert 'name="date" value="Posting Date"' in form
    # A file over the size limit is refused before it is read.
    big = b"Posting Date,Amount\n" + f"{us(next_month(1))},1.00\n".encode() * 800_000
    response = upload(client, month.account, big, period_end=iso(last_day()), ending_balance="1")
    assert response.status_code in (413, 422)


def test_only_a_bookkeeper_or_admin_imports_and_signs(app, month):
    with app.app_context():
        staff = gen_user("staff")
    client = app.test_client()
    assert post(client, "/auth/login", {"email": staff.email, "password": PASSWORD}).status_code == 303
    response = upload(client, month.account, chase_csv(clean_month()), period_end=iso(last_day()), ending_balance="1")
    assert response.status_code in (302, 403) and "/reconciliations" not in response.headers.get("Location", "")
    assert client.get("/reconciliations/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 0
        statement = statements.type_statement(
            db.session.get(BankAccount, month.account),
            period_start=day(1),
            period_end=last_day(),
            ending_balance_cents=630_000,
            user=db.session.scalar(select(User).where(User.role == "bookkeeper")),
        )
        sid = statement.id
    for action in ("delete", "sign", "auto-match", "tick"):
        assert post(client, f"/reconciliations/statements/{sid}/{action}").status_code == 403, action
    assert 'id="delete-statement"' not in client.get(f"/reconciliations/statements/{sid}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BankStatement, sid) is not None


def test_a_typed_statement_is_ticked_off_the_journal(app, client, month):
    response = typed(client, month.account, iso(day(1)), iso(last_day()), "7,500.00")
    assert response.status_code == 303
    sid = statement_id(app)
    figures, page = totals(client, sid)
    assert figures["transit"] == "$7,500.00" and figures["outstanding"] == "$1,200.00"
    entry_ids = re.findall(r'name="entry_id" value="(\d+)"><button type="submit" class="small">On the statement', page)
    assert len(entry_ids) == 3
    for entry_id in entry_ids[:2]:  # the two deposits; the cheque is not cashed yet
        assert (
            post(
                client,
                f"/reconciliations/statements/{sid}/tick",
                {"entry_id": entry_id},
                headers={"HX-Request": "true"},
            ).status_code
            == 200
        )
    figures, page = totals(client, sid)
    assert (figures["transit"], figures["outstanding"], figures["adjusted"]) == ("$0.00", "$1,200.00", "$6,300.00")
    assert "The three balances agree" in page
    # Ticking the same entry twice is refused.
    again = post(
        client, f"/reconciliations/statements/{sid}/tick", {"entry_id": entry_ids[0]}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 422 and "already on a statement" in again.get_data(as_text=True)
    # A typed statement overlapping it is a duplicate.
    overlap = typed(client, month.account, iso(day(15)), iso(next_month(14)), "1")
    assert overlap.status_code == 422 and "overlaps" in overlap.get_data(as_text=True)


def test_an_htmx_import_sends_the_browser_to_the_statement(app, client, month):
    """htmx follows a 303 inside its own request and would swap the whole page into the form: a 204 with
    HX-Redirect sends the browser there instead."""
    form = {
        "csrf_token": csrf_token(client),
        "source": "csv",
        "file": (io.BytesIO(chase_csv(clean_month())), "month.csv"),
        "period_end": iso(last_day()),
        "ending_balance": "6300",
        **MAPPING,
    }
    url = f"/reconciliations/accounts/{month.account}/import"
    preview = client.post(url, data=form, content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "<html" not in preview.get_data(as_text=True)  # the step, in place
    token = re.search(r'name="confirm" value="(\w+)"', preview.get_data(as_text=True)).group(1)
    form.update(confirm=token, file=(io.BytesIO(chase_csv(clean_month())), "month.csv"))
    response = client.post(url, data=form, content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/reconciliations/statements/{statement_id(app)}"
