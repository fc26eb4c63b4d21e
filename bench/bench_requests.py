"""How fast trust requests answer with a busy firm's data: 50,000 requests over 20,000 matters, and card payments.

Loads the contacts and matters of bench_lists.py, a trust and an operating account, and 50,000 trust
requests in every status; times the Bills tab (open requests with totals, overdue, a search, one
lawyer), a request's page and the client's pay page; then posts card payments through the pay page
(each one: the lock, the idempotency check, the deposit, the fee, the status, the audit events and
two queued emails in one transaction) and reports payments per second.

    .venv/bin/python bench/bench_requests.py [--requests 50] [--rows 20000] [--payments 200] [--pg postgresql://...]
"""

import argparse
import random
import re
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_lists import StatementCounter, bench_app, load_rows, percentile, sign_in, time_requests  # noqa: E402

from trustweb.extensions import db, limiter  # noqa: E402
from trustweb.models import BankAccount, TrustRequest, User  # noqa: E402
from trustweb.services import requests as request_service  # noqa: E402

STATUSES = ["draft", "sent", "viewed", "partially_paid", "paid", "void"]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CHECKOUT = re.compile(r'name="checkout" type="hidden" value="([^"]+)"')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="contacts, and matters (default 20000)")
    parser.add_argument("--trust-requests", type=int, default=50_000, help="trust requests (default 50000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per URL (default 50)")
    parser.add_argument("--payments", type=int, default=200, help="card payments to post (default 200)")
    parser.add_argument("--pg", metavar="URL", help="run on PostgreSQL in a fresh schema instead of SQLite")
    return parser.parse_args()


def load_requests(n, rng):
    """n trust requests spread over the matters, in every status; returns one open for part payments."""
    trust = BankAccount(name="IOLTA Trust", kind="trust", is_iolta=True, currency="USD", is_default=True)
    operating = BankAccount(name="Operating", kind="operating", currency="USD", is_default=True)
    db.session.add_all([trust, operating])
    db.session.flush()
    lawyer_id = db.session.scalar(text('SELECT min(id) FROM "user"'))
    matters = db.session.execute(text("SELECT id, client_id FROM matter")).all()
    today = date(2026, 11, 25)
    rows = []
    for i in range(n):
        matter_id, client_id = rng.choice(matters)
        status = STATUSES[i % len(STATUSES)]
        amount = rng.randrange(50_000, 1_000_000, 100)
        paid = {"paid": amount, "partially_paid": amount // 2}.get(status, 0)
        issued = today - timedelta(days=rng.randint(0, 400))
        rows.append(
            {
                "number": f"TR-{i + 1:06d}",
                "contact_id": client_id,
                "matter_id": matter_id,
                "bank_account_id": trust.id,
                "amount_cents": amount,
                "paid_cents": paid,
                "issued_on": issued,
                "due_on": issued + timedelta(days=rng.choice([7, 14, 30])),
                "allow_partial": status == "partially_paid",
                "recipients": f"client{i}@example.com",
                "status": status,
                "created_by_id": lawyer_id,
            }
        )
    db.session.execute(insert(TrustRequest), rows)
    open_request = TrustRequest(
        number=f"TR-{n + 1:06d}",
        contact_id=matters[0][1],
        matter_id=matters[0][0],
        bank_account_id=trust.id,
        amount_cents=100_000_000,
        paid_cents=0,
        issued_on=today,
        allow_partial=True,
        recipients="payer@example.com",
        status="sent",
        created_by_id=lawyer_id,
    )
    db.session.add(open_request)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE trust_request"))
    return open_request.id


def pay_many(app, client, path, n):
    """Post n card payments of $10.00 through the pay page; milliseconds per payment."""
    samples = []
    for _ in range(n):
        page = client.get(path).get_data(as_text=True)
        data = {
            "csrf_token": CSRF.search(page).group(1),
            "checkout": CHECKOUT.search(page).group(1),
            "amount": "10.00",
            "name": "Bench Payer",
            "number": "4242 4242 4242 4242",
            "expiry": "12/34",
            "cvc": "123",
        }
        started = time.perf_counter()
        response = client.post(path, data=data)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 303:
            raise SystemExit(f"payment answered {response.status_code}")
    return samples


def main():
    args = parse_args()
    rng = random.Random(2026)
    with bench_app(args.pg) as (app, where):
        limiter.enabled = False  # one client posting hundreds of payments is the point here
        started = time.perf_counter()
        with app.app_context():
            matter_id = load_rows(args.rows, rng)
            request_id = load_requests(args.trust_requests, rng)
            path = request_service.new_link(db.session.get(TrustRequest, request_id)).removeprefix(
                app.config["BASE_URL"]
            )
            db.session.commit()
            lawyer_id = db.session.scalar(text('SELECT min(id) FROM "user"'))
            counter = StatementCounter(db.engine)
            assert db.session.get(User, lawyer_id)
        print(f"Database: {where}")
        print(
            f"Loaded {args.rows:,} matters and {args.trust_requests:,} trust requests in "
            f"{time.perf_counter() - started:.1f} s (page size 25)"
        )

        client = app.test_client()
        sign_in(client)
        htmx = {"HX-Request": "true"}
        cases = [
            ("Bills: open requests + totals", "/bills/", {}),
            ("Bills: overdue, htmx rows", "/bills/?status=overdue", htmx),
            ("Bills: search 'TR-0012', htmx", "/bills/?status=all&q=TR-0012", htmx),
            ("Bills: one lawyer, all", f"/bills/?status=all&lawyer={lawyer_id}", htmx),
            ("one request", f"/bills/requests/{request_id}", {}),
            ("one matter (with its requests)", f"/matters/{matter_id}", {}),
            ("the client's pay page", path, {}),
        ]
        print(f"{args.requests} requests each, after 2 warm-ups; times in milliseconds per request\n")
        header = f"{'request':<34} {'median':>7} {'p95':>7} {'max':>7} {'SQL/req':>8} {'KB':>6}"
        print(header)
        print("-" * len(header))
        for label, url, headers in cases:
            samples, statements, _, _, size = time_requests(client, counter, url, headers, args.requests)
            print(
                f"{label:<34} {statistics.median(samples):7.1f} {percentile(samples, 95):7.1f} {max(samples):7.1f}"
                f" {statements:8.1f} {size / 1024:6.1f}"
            )
        payer = app.test_client()
        samples = pay_many(app, payer, path, args.payments)
        print(
            f"\n{args.payments} card payments through the pay page: median {statistics.median(samples):.1f} ms, "
            f"p95 {percentile(samples, 95):.1f} ms, {1000 * len(samples) / sum(samples):.0f} payments/s (one client)"
        )
        with app.app_context():
            from trustweb.services.books import check_books

            problems = check_books()
        print("check-books after the payments:", "sound" if not problems else problems[:3])
        print(f"\nTotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
