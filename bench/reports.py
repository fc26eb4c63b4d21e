"""How the reports scale on the 1,000,000-line books of bench/ledger.py (10,000 matters, five years).

Times, through the app's own routes and a signed-in test client:
  (a) the client trust balances report for the whole account, as of the last day and as of a month earlier;
  (b) the three-way reconciliation, when the app has it;
  (c) the full trust account journal as CSV (?format=csv, streamed): rows per second (the median of three runs),
      and the peak of Python's memory (tracemalloc) for the whole journal against a tenth of it: flat memory means
      the two are alike.
Goals: balances <= 300 ms, reconciliation <= 1 s (issue 7), export >= 150,000 rows/s with flat memory (issue 15).

    .venv/bin/python bench/reports.py [--lines 1000000] [--iterations 20] [--pg postgresql://...] [--csv-only]
"""

import argparse
import os
import random
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_lists import bench_app, percentile, sign_in  # noqa: E402
from ledger import DAYS, START, check, load_books  # noqa: E402
from sqlalchemy import select  # noqa: E402

from trustweb.extensions import db  # noqa: E402
from trustweb.models import BankAccount, JournalEntry, JournalLine, LedgerAccount, User  # noqa: E402
from trustweb.services import statements  # noqa: E402

GOAL_BALANCES_MS = 300
GOAL_RECONCILE_MS = 1_000
GOAL_ROWS_PER_S = 150_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="journal lines (default 1,000,000)")
    parser.add_argument("--iterations", type=int, default=20, help="timed runs of each report (default 20)")
    parser.add_argument("--pg", metavar="URL", help="run on PostgreSQL in a fresh schema instead of SQLite")
    parser.add_argument("--csv-only", action="store_true", help="time only (c), the journal's CSV")
    return parser.parse_args()


def timed_get(client, url, n):
    """Milliseconds of n GETs after two warm-ups; each must answer 200."""
    for _ in range(2):
        client.get(url)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return samples, body


def stream(client, url):
    """Read a streamed CSV to the end, chunk by chunk: its line count."""
    response = client.get(url, buffered=False)
    rows = 0
    for chunk in response.response:
        rows += chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n")
    response.close()
    return rows


def export(client, url, runs=3):
    """(rows, median seconds of the runs, fastest, slowest, peak traced memory in MB, median CPU seconds of this
    process): timed without tracing (tracemalloc slows Python several times), then streamed once more under
    tracemalloc for the memory. The median of three, as one run on a shared two-core machine swings by a fifth either
    way; the CPU time (the app's own, and SQLite's, not PostgreSQL's) swings much less with other work."""
    seconds, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        rows = stream(client, url)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    tracemalloc.start()
    stream(client, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, statistics.median(seconds), min(seconds), max(seconds), peak / 2**20, statistics.median(cpu)


MAPPING = {
    "date": "Date",
    "amount": "Amount",
    "description": "Description",
    "reference": "Cheque",
    "date_format": "%Y-%m-%d",
}


def last_month_statement(books, last_day):
    """The bank's CSV for the books' last 30 days: every bank movement posted a day later, except one in twenty
    (deposits in transit, cheques not cashed); the ending balance the bank would show. (data, balance, lines,
    outstanding)."""
    start = last_day - timedelta(days=29)
    rows = db.session.execute(
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.description,
            JournalEntry.cheque_number,
            JournalLine.amount_cents,
        )
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.ledger_account_id == books.bank_ledger_id, JournalEntry.entry_date >= start)
        .order_by(JournalEntry.entry_date, JournalEntry.id)
    ).all()
    journal = db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.id == books.bank_ledger_id))
    out = ["Date,Description,Amount,Cheque"]
    outstanding = 0
    not_seen = 0
    for entry_id, day, description, cheque, amount in rows:
        if entry_id % 20 == 0:
            outstanding += amount
            not_seen += 1
            continue
        posted = min(day + timedelta(days=1), last_day)
        out.append(f'{posted.isoformat()},"{description}",{amount / 100:.2f},{cheque or ""}')
    return ("\n".join(out) + "\n").encode(), journal - outstanding, len(out) - 1, not_seen


def verdict(ok):
    return "PASS" if ok else "FAIL"


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    args = parse_args()
    print(f"Load average (other work on this machine) before loading: {load_average()}")
    with bench_app(args.pg) as (app, where):
        with app.app_context():
            books = load_books(args.lines, random.Random(2026))
        print(f"Database: {where}")
        print(
            f"Loaded {books.lines:,} journal lines over {books.matters:,} matters in {books.load_seconds:.1f} s; "
            f"{books.size} on disk"
        )
        check(app, books)
        client = app.test_client()
        sign_in(client)
        if not args.csv_only:
            balances_and_reconciliation(app, client, books, args.iterations)
        journal_csv(client)
    print(f"\nLoad average at the end: {load_average()}")


def balances_and_reconciliation(app, client, books, n):
    """(a) the client balances as of two days, (b) a month's statement imported and reconciled."""
    last_day = START + timedelta(days=DAYS)
    month_before = last_day - timedelta(days=30)

    print(f"\n(a) Client trust balances, {books.matters:,} client ledgers; {n} runs, milliseconds")
    worst = 0.0
    for label, as_of in (("as of the last day", last_day), ("as of a month earlier", month_before)):
        samples, body = timed_get(client, f"/reports/balances?as_of={as_of.isoformat()}", n)
        p95 = percentile(samples, 95)
        worst = max(worst, p95)
        proof = "difference $0.00" if b'data-label="Difference">$0.00' in body else "DIFFERENCE NOT ZERO"
        print(f"    {label:<24} median {statistics.median(samples):7.1f}  p95 {p95:7.1f}  ({proof})")
    print(f"    goal p95 <= {GOAL_BALANCES_MS} ms: {verdict(worst <= GOAL_BALANCES_MS)}")

    print("\n(b) Three-way reconciliation of the last month")
    with app.app_context():
        data, balance, lines, outstanding = last_month_statement(books, last_day)
        started = time.perf_counter()
        statement, matched = statements.import_statement(
            db.session.get(BankAccount, books.account_id),
            source="csv",
            filename="last-month.csv",
            data=data,
            user=db.session.scalar(select(User)),
            mapping=MAPPING,
            period_start=last_day - timedelta(days=29),
            period_end=last_day,
            ending_balance_cents=balance,
        )
        imported = time.perf_counter() - started
        statement_id = statement.id
        db.session.remove()
    print(
        f"    import of {lines:,} statement lines with automatic matching: {imported * 1000:,.0f} ms, "
        f"{matched:,} matched; {outstanding} entries left outstanding"
    )
    samples, body = timed_get(client, f"/reconciliations/statements/{statement_id}", n)
    p95 = percentile(samples, 95)
    agreed = "the three balances agree" if b"The three balances agree" in body else "THEY DO NOT AGREE"
    print(f"    reconciliation page     median {statistics.median(samples):7.1f}  p95 {p95:7.1f}  ({agreed})")
    print(f"    goal p95 <= {GOAL_RECONCILE_MS} ms: {verdict(p95 <= GOAL_RECONCILE_MS)}")


def journal_csv(client):
    """(c) the journal's CSV: a tenth of it, then all of it."""
    print("\n(c) Trust account journal as CSV, streamed")
    tenth = START + timedelta(days=DAYS // 10)
    small_rows, small_s, _, _, small_peak, _ = export(client, f"/reports/journal?to={tenth.isoformat()}&format=csv")
    rows, seconds, fastest, slowest, peak, cpu = export(client, "/reports/journal?format=csv")
    rate = rows / seconds
    print(f"    a tenth of it: {small_rows:,} rows in {small_s:.2f} s, peak memory {small_peak:.1f} MB")
    print(
        f"    all of it:     {rows:,} rows in {seconds:.2f} s (median of 3; {rows / slowest:,.0f} to "
        f"{rows / fastest:,.0f} rows/s) = {rate:,.0f} rows/s, peak memory {peak:.1f} MB;\n"
        f"                   the app's CPU {cpu:.2f} s = {rows / cpu:,.0f} rows per CPU-second"
    )
    flat = peak <= small_peak * 1.5 + 1
    print(
        f"    goal >= {GOAL_ROWS_PER_S:,} rows/s: {verdict(rate >= GOAL_ROWS_PER_S)}; "
        f"flat memory (peak for all <= 1.5 x peak for a tenth): {verdict(flat)}"
    )


if __name__ == "__main__":
    main()
