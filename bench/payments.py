"""Card payments per second through the whole stack (HTTP, gunicorn, the app, PostgreSQL) with N clients paying at once.

Loads the demo firm into a new schema of the PostgreSQL database given with --pg (dropped afterwards; without --pg a
throwaway SQLite file), adds open trust requests with a pay link each over the firm's open matters, and serves the
app with `gunicorn -w 4` (sync workers, flood limits off). For each number of payers (--payers 8 16 32), that many
threads each take the next request and pay it as a client's browser does: GET the pay page (its CSRF token and
checkout key from the hidden fields), POST the full amount by test card 4242 4242 4242 4242, and GET the receipt
the answer points to. Then serves bench/hello.py (a bare Flask "hello world") under the same gunicorn and has the
same numbers of threads make visits of three GETs of it, the ceiling a payment's three requests are measured
against. Prints payments per second, their ratio to hello-world visits per second at the same number of payers,
and the latency of the POST and of the whole visit, then runs
`flask trustweb check-books` and `flask trustweb audit-verify` on the database. If any payment failed it shows why
and reports no figures.

    .venv/bin/python bench/payments.py --pg postgresql://postgres@127.0.0.1:5432/DB [--payers 8 16 32]
        [--payments 400] [--workers 4]
"""

import argparse
import http.client
import queue
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import (  # noqa: E402
    BenchError,
    Browser,
    Database,
    database,
    gunicorn,
    load_demo,
    run_bench,
    uptime,
    worker,
)
from sqlalchemy import func, select  # noqa: E402

from trustweb import create_app  # noqa: E402
from trustweb.extensions import db  # noqa: E402
from trustweb.models import BankAccount, Counter, Matter, MatterStatus, Payment, TrustRequest  # noqa: E402
from trustweb.models.base import utcnow  # noqa: E402
from trustweb.models.requests import RequestStatus  # noqa: E402
from trustweb.services import requests as request_service  # noqa: E402
from trustweb.services.trust import firm_today  # noqa: E402

GOAL = 200  # payments per second, issue 15
CARD = "4242 4242 4242 4242"  # the test processor's card that always goes through
MESSAGE = "Retainer (bench/payments.py)."


class PaymentFailed(Exception):
    """A payment that did not end on its receipt; the message says what the app answered."""


@dataclass
class Job:
    path: str  # /pay/<token>
    amount_cents: int


@dataclass
class Level:
    payers: int
    seconds: float
    posts: list[float]  # seconds of each payment's POST
    visits: list[float]  # seconds of each whole visit: pay page, POST, receipt
    failures: list[str]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL database to run in (a new schema); else SQLite")
    parser.add_argument("--payers", type=int, nargs="+", default=[8, 16, 32], help="clients paying at once")
    parser.add_argument("--payments", type=int, default=400, help="payments at each number of payers (default 400)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured payments first (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    return parser.parse_args()


def open_requests(store: Database, n: int) -> list[Job]:
    """n sent trust requests over the firm's open matters, each with a live pay link: rows added in one transaction
    (numbered by the app's counter, links made by its new_link()) rather than n times through the services."""
    app = create_app({"DATABASE_URI": store.url})
    with app.app_context():
        account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust", BankAccount.is_default))
        matters = db.session.scalars(select(Matter).where(Matter.status == MatterStatus.OPEN).order_by(Matter.id)).all()
        if account is None or not matters:
            raise BenchError("the demo firm has no default trust account or no open matter")
        today = firm_today()
        made = []
        for i in range(n):
            # Consecutive requests for different matters: payers at the same moment rarely share a client ledger.
            matter = matters[i % len(matters)]
            made.append(
                TrustRequest(
                    number=f"TR-{Counter.next_value('trust_request'):06d}",
                    contact_id=matter.client_id,
                    matter_id=matter.id,
                    bank_account_id=account.id,
                    amount_cents=10_000 + (i % 97) * 100,
                    paid_cents=0,
                    refunded_cents=0,
                    issued_on=today,
                    due_on=today + timedelta(days=14),
                    message=MESSAGE,
                    allow_partial=False,
                    recipients=",".join(matter.client.emails[:1]) or "client@example.com",
                    status=RequestStatus.SENT,
                    sent_at=utcnow(),
                    created_by_id=matter.lawyer_id,
                )
            )
        db.session.add_all(made)
        db.session.flush()
        base = app.config["BASE_URL"]
        jobs = [Job(request_service.new_link(made_one).removeprefix(base), made_one.amount_cents) for made_one in made]
        db.session.commit()
        db.engine.dispose()
    return jobs


def card_form(csrf: str, checkout: str, amount_cents: int) -> dict[str, str]:
    expires = date.today() + timedelta(days=730)
    return {
        "csrf_token": csrf,
        "checkout": checkout,
        "amount": f"{amount_cents // 100}.{amount_cents % 100:02d}",
        "name": "Bench Payer",
        "email": "payer@example.com",
        "number": CARD,
        "expiry": f"{expires.month:02d}/{expires.year % 100:02d}",
        "cvc": "123",
    }


def pay(base_url: str, job: Job) -> tuple[float, float]:
    """One client pays one request in a browser of their own: (seconds of the POST, seconds of the whole visit)."""
    browser = Browser(base_url)
    try:
        started = time.perf_counter()
        page = browser.get(job.path)
        csrf, checkout = page.hidden("csrf_token"), page.hidden("checkout")
        if page.status != 200 or csrf is None or checkout is None:
            raise PaymentFailed(f"the pay page answered {page.status}: {page.errors()}")
        posted = time.perf_counter()
        done = browser.post(job.path, card_form(csrf, checkout, job.amount_cents))
        answered = time.perf_counter()
        if done.status != 303 or not done.location.startswith(f"{job.path}/receipts/"):
            raise PaymentFailed(f"the payment answered {done.status}: {done.errors()}")
        receipt = browser.get(done.location)
        if receipt.status != 200 or 'id="receipt-number"' not in receipt.body:
            raise PaymentFailed(f"the receipt answered {receipt.status}: {receipt.errors()}")
        return answered - posted, time.perf_counter() - started
    finally:
        browser.close()


def hello_visit(base_url: str) -> float:
    """The ceiling's visit: three GETs of hello world by a browser of its own, as a payment makes three requests."""
    browser = Browser(base_url)
    try:
        started = time.perf_counter()
        for _ in range(3):
            if browser.get("/").status != 200:
                raise PaymentFailed("hello world did not answer 200")
        return time.perf_counter() - started
    finally:
        browser.close()


def hello_level(base_url: str, visits: int, payers: int) -> float:
    """Hello-world visits per second with this many visitors at once."""
    left = iter(range(visits))
    lock = threading.Lock()

    def visitor() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            hello_visit(base_url)

    threads = [threading.Thread(target=visitor, daemon=True) for _ in range(payers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return visits / (time.perf_counter() - started)


def describe(error: Exception) -> str:
    return str(error) if isinstance(error, PaymentFailed) else f"{type(error).__name__}: {error}"


def run_level(base_url: str, jobs: list[Job], payers: int) -> Level:
    """payers threads pay the jobs, each taking the next one when done; the first failure stops them all."""
    todo: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    level = Level(payers, 0.0, [], [], [])
    lock = threading.Lock()
    stop = threading.Event()

    def payer() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                post, visit = pay(base_url, job)
            except (PaymentFailed, OSError, http.client.HTTPException) as error:
                with lock:
                    level.failures.append(f"{job.path[:13]}... ({job.amount_cents} cents): {describe(error)}")
                stop.set()
                return
            with lock:
                level.posts.append(post)
                level.visits.append(visit)

    threads = [threading.Thread(target=payer, daemon=True) for _ in range(payers)]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()  # also on Ctrl+C: no payer starts another payment
    level.seconds = time.perf_counter() - started
    return level


def ms(samples: list[float], q: int) -> float:
    return 1000 * (statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0])


def count_paid(store: Database) -> tuple[int, int]:
    """What the database holds for the bench's requests: (card payments that succeeded, requests paid in full)."""
    app = create_app({"DATABASE_URI": store.url})
    with app.app_context():
        bench = select(TrustRequest.id).where(TrustRequest.message == MESSAGE)
        payments = db.session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.trust_request_id.in_(bench), Payment.status == "succeeded", Payment.method == "card")
        )
        paid = db.session.scalar(
            select(func.count())
            .select_from(TrustRequest)
            .where(TrustRequest.message == MESSAGE, TrustRequest.status == RequestStatus.PAID)
        )
        db.engine.dispose()
    return payments or 0, paid or 0


def books(store: Database) -> tuple[bool, list[str]]:
    """check-books and audit-verify, as an administrator runs them: (both say the books are sound, what they said)."""
    sound, said = True, []
    for command in ("check-books", "audit-verify"):
        try:
            said.append(f"flask trustweb {command}: {store.flask('trustweb', command).stdout.strip()}")
        except BenchError as error:
            sound = False
            said.append(str(error))
    return sound, said


def main() -> int:
    args = parse_args()
    print(f"load before: {uptime()}")
    levels: list[Level] = []
    with database(args.pg) as store, tempfile.TemporaryDirectory(prefix="trustweb-bench-logs-") as logs:
        started = time.perf_counter()
        load_demo(store)
        jobs = open_requests(store, args.warmup + args.payments * len(args.payers))
        print(f"Database: {store.where}")
        print(
            f"Demo firm and {len(jobs):,} open trust requests with pay links in {time.perf_counter() - started:.1f} s"
        )
        with (
            worker(store.env(), Path(logs) / "worker.log"),
            gunicorn("wsgi:app", store.env(), args.workers, Path(logs) / "app.log") as base_url,
        ):
            print(f"Server: gunicorn -w {args.workers} (sync) wsgi:app at {base_url}, flood limits off; its worker")
            print(f"Each payment: GET the pay page, POST the full amount by card ({CARD}), GET the receipt")
            first = 0
            if args.warmup:
                warmup = run_level(base_url, jobs[: args.warmup], min(args.warmup, args.workers))
                levels.append(warmup)
                first = args.warmup
            for payers in args.payers:
                if any(level.failures for level in levels):
                    break
                levels.append(run_level(base_url, jobs[first : first + args.payments], payers))
                first += args.payments
                done = levels[-1]
                print(f"  {payers} payers: {len(done.posts)} payments in {done.seconds:.1f} s", flush=True)
        # The ceiling, once the app has stopped: hello world under the same gunicorn, the same visitors at once.
        hello: dict[int, float] = {}
        if not any(level.failures for level in levels):
            with gunicorn("bench.hello:app", store.env(), args.workers, Path(logs) / "hello.log") as hello_url:
                hello_level(hello_url, 50, args.workers)  # warm-up
                hello = {payers: hello_level(hello_url, args.payments, payers) for payers in args.payers}
        measured = levels[1:] if args.warmup else levels
        failures = [failure for level in levels for failure in level.failures]
        made = sum(len(level.posts) for level in levels)
        in_books = count_paid(store)
        sound, said = books(store)
    print(
        f"The database holds {in_books[0]:,} card payments for the bench's requests and {in_books[1]:,} of them paid"
        f" in full; the payers saw {made:,} receipts."
    )
    if failures:
        print(f"\nREFUSED: {len(failures)} payment(s) failed, so no figures are reported. What the app answered:")
        for failure in failures[:10]:
            print(f"  - {failure}")
    elif in_books != (made, made):
        print(f"\nREFUSED: the payers saw {made} receipts but the database holds {in_books}.")
    else:
        print(
            f"\n{'payers':>6} {'payments':>9} {'seconds':>8} {'payments/s':>11} {'hello visits/s':>15} {'ratio':>6}"
            f" {'POST p50 ms':>12} {'POST p95 ms':>12} {'visit p50 ms':>13} {'visit p95 ms':>13}"
        )
        for level in measured:
            print(
                f"{level.payers:6d} {len(level.posts):9d} {level.seconds:8.1f} {len(level.posts) / level.seconds:11.1f}"
                f" {hello[level.payers]:15.1f} {len(level.posts) / level.seconds / hello[level.payers]:6.3f}"
                f" {ms(level.posts, 50):12.0f} {ms(level.posts, 95):12.0f}"
                f" {ms(level.visits, 50):13.0f} {ms(level.visits, 95):13.0f}"
            )
        best = max(len(level.posts) / level.seconds for level in measured)
        print(f"best: {best:.1f} payments/s; goal >= {GOAL}/s: {'PASS' if best >= GOAL else 'FAIL'}")
    print("\n" + "\n".join(said))
    print(f"\nload after:  {uptime()}")
    return 0 if sound and not failures and in_books == (made, made) else 1


if __name__ == "__main__":
    run_bench(main)
