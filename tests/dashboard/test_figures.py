"""The Dashboard's charts say what the books say: what each trust account held at each month end, the money
received each month and the open requests by age, each in its own currency, in a few statements in any firm."""

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from tests.conftest import signed_in
from tests.dashboard.steps import chart_tables, deposit, gen_year, pay_out
from tests.dates import month_end, month_start, today
from tests.factories import gen_account, gen_user
from trustweb.extensions import db
from trustweb.models import BankAccount, JournalEntry, JournalLine, LedgerAccount
from trustweb.services.dashboard import held_charts, last_months
from trustweb.services.trust import FIRM


def month_end_names():
    """The table's first column: each month end's date, oldest first, and "Today" for this month."""
    return [month_end(back).isoformat() for back in range(11, 0, -1)] + ["Today"]


@pytest.fixture
def year(app):
    with app.app_context():
        return gen_year()


@pytest.fixture
def dashboard(app, year):
    response = signed_in(app, year.lawyer).get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_trust_account_holds_at_each_month_end_what_its_entries_add_up_to(app, dashboard):
    tables = chart_tables(dashboard)
    usd = [1_500] * 6 + [1_200] * 3 + [1_600] * 2 + [1_650]  # months back 11..0: $1,000.00 before, $500.00 in
    assert tables["chart-held-usd"] == [
        ["Month end", "Client Trust (USD)"],
        *[[name, f"${dollars:,}.00"] for name, dollars in zip(month_end_names(), usd, strict=True)],
    ]
    cad = [0] * 8 + [2_000] * 3 + [2_250]
    assert tables["chart-held-cad"][1:] == [
        [name, f"CA${dollars:,}.00"] for name, dollars in zip(month_end_names(), cad, strict=True)
    ]


def test_the_money_received_each_month_is_the_payments_in_it_per_currency(app, dashboard):
    tables = chart_tables(dashboard)
    usd = tables["chart-received-usd"]
    assert usd[0] == ["Month", "Payments", "Received"]
    assert [row[1:] for row in usd[1:]] == [["0", "$0.00"]] * 9 + [["1", "$400.00"], ["0", "$0.00"], ["0", "$0.00"]]
    cad = tables["chart-received-cad"]
    assert [row[1:] for row in cad[1:]] == [["0", "CA$0.00"]] * 11 + [["1", "CA$250.00"]]
    with app.app_context():
        assert usd[-1][0] == today().strftime("%B %Y")
    # The tile says the same: this month's payments, each currency apart.
    assert re.search(r"CA\$250\.00</span> received this month \(1 payment\)", dashboard)


def test_the_open_requests_are_aged_by_days_past_due_per_currency(dashboard):
    tables = chart_tables(dashboard)
    assert tables["chart-ageing-usd"] == [
        ["Past due", "Requests", "Still due"],
        ["Current", "1", "$100.00"],
        ["1–30 days", "1", "$200.00"],
        ["31–60 days", "1", "$300.00"],
        ["61–90 days", "0", "$0.00"],
        ["Over 90 days", "0", "$0.00"],
    ]
    assert tables["chart-ageing-cad"][1:] == [
        ["Current", "0", "CA$0.00"],
        ["1–30 days", "0", "CA$0.00"],
        ["31–60 days", "0", "CA$0.00"],
        ["61–90 days", "0", "CA$0.00"],
        ["Over 90 days", "1", "CA$400.00"],
    ]
    assert "$600.00 and CA$400.00</span> asked for on 4 open trust requests" in dashboard
    assert "$500.00 and CA$400.00</span> overdue" in dashboard


def test_each_chart_is_an_image_with_a_title_and_a_description_and_no_sum_across_currencies(dashboard):
    for chart in ("held-usd", "held-cad", "received-usd", "received-cad", "ageing-usd", "ageing-cad"):
        assert f'aria-labelledby="chart-{chart}-title"' in dashboard
        assert f'<title id="chart-{chart}-title">' in dashboard and f'<desc id="chart-{chart}-desc">' in dashboard
    assert "Client Trust (USD): $1,500.00 at the end of" in dashboard and "$1,650.00 today." in dashboard
    # The money axis is in each chart's currency: a CAD chart's labels are CA$.
    cad_axis = re.search(r'id="chart-held-cad".*?</svg>', dashboard, re.S).group(0)
    assert re.findall(r'class="chart-y"[^>]*>([^<]*)<', cad_axis)[-1].startswith("CA$")
    assert "style=" not in dashboard and "<style" not in dashboard
    assert "3,900.00" not in dashboard  # never the two accounts' sum ($1,650.00 and CA$2,250.00)


def test_a_new_firm_sees_what_is_missing_rather_than_empty_charts(app):
    with app.app_context():
        lawyer = gen_user("lawyer")
        gen_account("Client Trust", is_default=True)
    page = signed_in(app, lawyer.id).get("/").get_data(as_text=True)
    assert "Nothing held in trust in the last 12 months." in page
    assert "No payments in the last 12 months." in page
    assert "No open trust requests." in page
    assert "<svg" not in page.split('id="charts"')[1].split("</section>")[0]


def held_by_the_books(account_id, day):
    """What the account's bank ledger's lines dated on or before the day add up to."""
    return db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_cents), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.ledger_account_id)
        .where(
            LedgerAccount.kind == "bank", LedgerAccount.bank_account_id == account_id, JournalEntry.entry_date <= day
        )
    )


DAYS_BACK = st.integers(min_value=0, max_value=500)
# Positive: money in; negative: money out (booked only when the account holds it).
CENTS = st.integers(min_value=-5_000_000, max_value=10_000_000).filter(bool)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(DAYS_BACK, CENTS), min_size=1, max_size=12))
def test_month_end_balances_are_the_entries_up_to_each_month_end(app, entries):
    with app.app_context():
        # The test's database lives through its examples: each one books into a trust account of its own.
        account = gen_account().id
        days = today()
        held = 0
        # In date order: money never leaves on a date before the account's last entry.
        for back, cents in sorted(entries, key=lambda entry: -entry[0]):
            day = days - timedelta(days=back)
            if cents > 0:
                deposit(account, FIRM, cents, day)
            elif -cents <= held:
                pay_out(account, FIRM, -cents, day)
            else:
                continue
            held += cents
        months = last_months(days)
        balance = db.session.scalar(
            select(LedgerAccount.balance_cents).where(
                LedgerAccount.kind == "bank", LedgerAccount.bank_account_id == account
            )
        )
        (chart,) = held_charts(months, [(db.session.get(BankAccount, account), balance or 0)])
        ((_, ends),) = chart.accounts
        assert ends == [held_by_the_books(account, month.end) for month in months]
        assert ends[-1] == (balance or 0) == held
        assert chart.chart.ticks[0].value <= min(ends) and chart.chart.ticks[-1].value >= max(ends)


def test_two_trust_accounts_in_one_currency_are_two_lines_with_a_legend_and_never_added(app, year):
    with app.app_context():
        second = gen_account("Estates Trust (USD)").id
        deposit(second, FIRM, 70_000, month_start(1))
    page = signed_in(app, year.lawyer).get("/").get_data(as_text=True)
    usd = chart_tables(page)["chart-held-usd"]
    assert usd[0] == ["Month end", "Client Trust (USD)", "Estates Trust (USD)"]
    assert usd[-2:] == [
        [month_end(1).isoformat(), "$1,600.00", "$700.00"],
        ["Today", "$1,650.00", "$700.00"],
    ]
    held = page.split('id="chart-held-usd"')[1].split("</figure>")[0]
    assert held.count("<polyline") == 2 and 'class="chart-series series-1"' in held
    assert re.search(r'<ul class="chart-legend">.*Client Trust \(USD\).*Estates Trust \(USD\)', held, re.S)
    assert "$2,350.00" not in page  # each account apart: the chart draws lines, it does not stack them


def test_what_each_account_held_is_read_from_the_years_entries_not_the_whole_bank_ledger(app, year):
    # The window's entries by account and date, then their lines by entry: the bank ledger's lines by its index
    # (ix_journal_line_ledger_id) would be every line of the account's history, filtered by date after.
    ran = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY" in statement and "journal_line" in statement and "entry_date" in statement:
            ran.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert signed_in(app, year.lawyer).get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    ((statement, parameters),) = [(sql, params) for sql, params in ran if "ledger_account" in sql]
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL plans by its statistics; the results are the same (the tests above)
    with engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "ix_journal_line_ledger_id" not in plan, plan
    assert "ix_journal_entry_account_date" in plan and "ix_journal_line_entry_id" in plan, plan
