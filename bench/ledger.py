"""How the trust ledger's reads scale: a balance and a ledger page at 1,000,000 journal lines and at 1,000.

Builds two throwaway databases through the app's own schema (create_all, so with the append-only
triggers): a big one with --lines journal lines (default 1,000,000: 500,000 two-line entries over
10,000 matters) and a small one with 1,000 lines over 10 matters. One matter has 100 lines in both,
spread over the whole history, so the two are compared on the same page. It checks both with
check_books(), times each read 200 times on a fresh session, the two databases taking turns, and
prints the median, 95th percentile and slowest time in milliseconds, the ratio of the two 95th
percentiles, and PASS/FAIL against the goal: page p95 <= 30 ms at 1M lines, ratio 1M/1k <= 1.5.
Then, if the app has trust ledger routes, it times those pages through the test client too: the trust
account's page whole (p95 <= 50 ms), its journal as its pager asks for it (the bank ledger's page), and
who holds money, searched and at its last page.

    .venv/bin/python bench/ledger.py [--lines 1000000] [--iterations 200] [--pg postgresql://...]"""

import argparse
import gc
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import joinedload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_lists import EMAIL, PASSWORD, StatementCounter, bench_app, percentile, sign_in  # noqa: E402

from trustweb.demo import COMPANIES, FIRST, LAST, MATTERS  # noqa: E402
from trustweb.extensions import db  # noqa: E402
from trustweb.models import (  # noqa: E402
    BankAccount,
    Contact,
    DepositClearance,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Matter,
    User,
)
from trustweb.services.books import check_books  # noqa: E402
from trustweb.services.sessions import password_hasher  # noqa: E402

SMALL_LINES = 1_000
LINES_PER_MATTER = 100  # 1,000,000 lines over 10,000 matters; 1,000 over 10
MEASURED_LINES = 100  # the measured matter's own lines, the same in both databases
BATCH = 20_000  # journal lines per executemany
PAGE = 50
DEEP_OFFSET = 1_000  # page 21
WARMUP = 10
START = date(2021, 11, 1)  # five years of history, up to a month before the bench was written
DAYS = 5 * 365
HTTP_BUDGET_S = 20  # for each URL's requests, on both databases: a slow page is timed fewer times
GOAL_P95_MS = 30.0  # a ledger's page (issue 7), and the bank ledger's (issue 15)
GOAL_ACCOUNT_MS = 50.0  # the trust account's page: who holds money and the journal (issue 15)
HTMX = {"HX-Request": "true"}
GOAL_RATIO = 1.5

DEPOSITS = ["Initial retainer", "Retainer top-up", "Settlement funds", "Escrow deposit", "Funds for costs"]
PAYMENTS = [
    ("Filing fee", "Clerk of the Circuit Court"),
    ("Recording fee", "County Recorder"),
    ("Service of process", "Metro Process Servers"),
    ("Deposition transcript", "Lakeside Court Reporting"),
    ("Expert report", "Harbor Forensics LLC"),
    ("Settlement paid to client", None),
    ("Fees transferred to operating (invoice paid)", "Hartwell & Okafor LLP"),
]

# The page, as a ledger page would show it: the app's money filter, escaping on (no template name).
PAGE_TEMPLATE = """<h1>{{ ledger.key }}</h1><p>Balance {{ ledger.balance_cents|money }}, {{ total }}</p>
<table><thead><tr><th>Date</th><th>Entry</th><th>Description</th><th>In</th><th>Out</th><th>Balance</th></tr></thead>
<tbody>{% for line in lines %}{% set amount = line.natural_cents %}<tr><td>{{ line.entry.entry_date.isoformat() }}</td>
<td>{{ line.entry.number }}</td><td>{{ line.entry.description }}</td>
<td>{{ amount|money if amount > 0 else "" }}</td><td>{{ (-amount)|money if amount < 0 else "" }}</td>
<td>{{ line.balance_after_cents|money }}</td></tr>{% endfor %}</tbody></table>"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="journal lines in the big database")
    parser.add_argument("--iterations", type=int, default=200, help="timed runs per measurement (default 200)")
    parser.add_argument("--pg", metavar="URL", help="run on PostgreSQL in fresh schemas instead of SQLite")
    args = parser.parse_args()
    if args.lines < 2 * SMALL_LINES:
        parser.error(f"--lines must be at least {2 * SMALL_LINES:,}")
    return args


@dataclass
class Books:
    """What was loaded, and the ids the measurements read."""

    lines: int
    matters: int
    account_id: int
    bank_ledger_id: int
    matter_id: int
    contact_id: int
    matter_ledger_id: int
    bank_lines: int
    deep_offset: int  # DEEP_OFFSET, or the bank ledger's last page if it is shorter
    deep_before: int = 0  # the same page by keyset: the lines before this one (the app's ?before=)
    matter_number: str = ""  # the measured matter's, to search for
    load_seconds: float = 0.0
    analyze_seconds: float = 0.0
    size: str = ""


def load_books(n_lines, rng):
    """n_lines journal lines (n_lines / 2 deposits and disbursements), one matter with MEASURED_LINES of them."""
    started = time.perf_counter()
    db.create_all()
    dialect = db.engine.dialect.name
    lawyer = User(email=EMAIL, name="Bench Lawyer", role="lawyer", password_hash=password_hasher().hash(PASSWORD))
    account = BankAccount(
        name="IOLTA Trust", kind="trust", is_iolta=True, bank_name="First Community Bank", account_last4="4471"
    )
    account.is_default = True
    db.session.add_all([lawyer, account])
    db.session.commit()
    lawyer_id, acct = lawyer.id, account.id
    db.session.remove()

    n_matters = n_lines // LINES_PER_MATTER
    n_entries = n_lines // 2
    measured = n_matters // 2 + 1  # matter ids run 1..n_matters; its client is contact measured
    names, contacts, matters = [], [], []
    for i in range(1, n_matters + 1):
        if i % 10 == 9:
            name, email = f"{rng.choice(COMPANIES)} {i}", f"accounts{i}@company.example.com"
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name, email = f"{first} {last}", f"{first}.{last}.{i}@example.com".lower().replace("'", "")
        names.append(name)
        contacts.append({"id": i, "kind": "company" if i % 10 == 9 else "person", "name": name, "email": email})
        area, description = MATTERS[i % len(MATTERS)]
        matters.append(
            {
                "id": i,
                "number": f"2021-{i:05d}",
                "description": f"{description} {i}",
                "practice_area": area,
                "client_id": i,
                "lawyer_id": lawyer_id,
                "opened_on": START - timedelta(days=rng.randint(1, 90)),
                "status": "open",
            }
        )
    # Ledger 1 is the bank's; matter i's client ledger is ledger i + 1.
    ledgers = [{"id": 1, "key": f"bank:{acct}", "kind": "bank", "contact_id": None, "matter_id": None}]
    ledgers += [
        {"id": i + 1, "key": f"client:{acct}:{i}:{i}", "kind": "client", "contact_id": i, "matter_id": i}
        for i in range(1, n_matters + 1)
    ]
    for row in ledgers:
        row.update(bank_account_id=acct, balance_cents=0, uncleared_cents=0)

    dates = [START + timedelta(days=d) for d in range(DAYS + 1)]
    stamps = [datetime(d.year, d.month, d.day, 15, tzinfo=UTC) for d in dates]
    measured_slots = set(rng.sample(range(n_entries), MEASURED_LINES))
    balance = [0] * (n_matters + 2)  # by ledger id, natural sign
    last_day = [None] * (n_matters + 2)
    cheque = 1000
    clearance_id = 0
    entries, lines, clearances = [], [], []

    with db.engine.connect() as conn:
        # The app's own connection settings (WAL and all): synchronous=OFF and a bigger page cache made no
        # measurable difference here, the load is Python's work more than SQLite's.
        conn.execute(insert(Contact.__table__), contacts)
        conn.execute(insert(Matter.__table__), matters)
        conn.execute(insert(LedgerAccount.__table__), ledgers)
        conn.commit()

        def flush():
            insert_batch(conn, entries, clearances, lines)

        for k in range(n_entries):
            entry_id = k + 1
            day_index = k * DAYS // n_entries
            day, stamp = dates[day_index], stamps[day_index]
            if k in measured_slots:
                matter = measured
            else:
                matter = rng.randrange(1, n_matters)
                matter += matter >= measured
            ledger = matter + 1
            held = balance[ledger]
            if held == 0 or rng.random() < 0.45:
                amount = rng.randrange(20_000, 1_000_000, 100)
                balance[1] += amount
                balance[ledger] = held + amount
                entries.append(
                    {
                        "id": entry_id,
                        "kind": "deposit",
                        "entry_date": day,
                        "description": rng.choice(DEPOSITS),
                        "method": "wire" if amount > 500_000 else "cheque",
                        "counterparty": names[matter - 1],
                        "cheque_number": None,
                    }
                )
                lines.append(line_row(2 * entry_id - 1, entry_id, 1, amount, balance[1]))
                lines.append(line_row(2 * entry_id, entry_id, ledger, -amount, balance[ledger]))
                clearance_id += 1
                clearances.append(
                    {
                        "id": clearance_id,
                        "entry_id": entry_id,
                        "cleared_on": day,
                        "cleared_by_id": lawyer_id,
                        "created_at": stamp,
                    }
                )
            else:
                amount = held if rng.random() < 0.1 else min(held, rng.randrange(1_000, 150_000))
                balance[1] -= amount
                balance[ledger] = held - amount
                description, payee = rng.choice(PAYMENTS)
                cheque += 1
                entries.append(
                    {
                        "id": entry_id,
                        "kind": "disbursement",
                        "entry_date": day,
                        "description": description,
                        "method": "cheque",
                        "counterparty": payee or names[matter - 1],
                        "cheque_number": str(cheque),
                    }
                )
                lines.append(line_row(2 * entry_id - 1, entry_id, ledger, amount, balance[ledger]))
                lines.append(line_row(2 * entry_id, entry_id, 1, -amount, balance[1]))
            last_day[1] = last_day[ledger] = day
            entries[-1].update(bank_account_id=acct, created_by_id=lawyer_id, created_at=stamp)
            if len(lines) >= BATCH:
                flush()
        if entries:
            flush()

        finish_load(conn, {i: day for i, day in enumerate(last_day) if day is not None})
        if dialect != "postgresql":
            # Outside a transaction (so on the driver's connection): the WAL back into the file, as after a quiet spell.
            conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.engine.dispose()
    loaded = time.perf_counter() - started

    analyzed = 0.0
    if dialect == "postgresql":
        # Autovacuum would analyze (and, for an insert-only table, vacuum) soon after a real import. The ledger rows
        # are another matter: the trigger of every line moved its ledger's balance, a million updates of 10,000 rows
        # in 50 transactions, which leaves the table at 40 times its size (dead versions no one could prune before
        # the commit). A firm books one entry per transaction, and each page is pruned as it goes (then vacuumed):
        # its ledger table stays its own size, which VACUUM FULL gives it here.
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM FULL ledger_account"))
            conn.execute(text("ANALYZE"))
        analyzed = time.perf_counter() - started
    deep_offset = min(DEEP_OFFSET, (n_entries - 1) // PAGE * PAGE)
    books = Books(
        lines=n_entries * 2,
        matters=n_matters,
        account_id=acct,
        bank_ledger_id=1,
        matter_id=measured,
        contact_id=measured,
        matter_ledger_id=measured + 1,
        bank_lines=n_entries,
        deep_offset=deep_offset,
        deep_before=db.session.scalar(
            select(JournalLine.id)
            .where(JournalLine.ledger_account_id == 1)
            .order_by(JournalLine.id.desc())
            .offset(deep_offset - 1)
            .limit(1)
        ),
        matter_number=matters[measured - 1]["number"],
        load_seconds=loaded,
        analyze_seconds=analyzed,
    )
    books.size = database_size(dialect)
    return books


def insert_batch(conn, entries, clearances, lines):
    """One batch of a bulk load: its entries, their clearances and their lines (each line's running balance checked
    by the database's trigger, which moves its ledger's balance), committed; the lists emptied for the next."""
    conn.execute(insert(JournalEntry.__table__), entries)
    if clearances:
        conn.execute(insert(DepositClearance.__table__), clearances)
    conn.execute(insert(JournalLine.__table__), lines)
    conn.commit()
    for rows in (entries, clearances, lines):
        rows.clear()


def finish_load(conn, last_day):
    """After a bulk load: the date of each ledger's last entry (last_day: ledger id -> date), which the services
    keep (the database moved the balances with every line); on PostgreSQL the id sequences moved past the ids the
    load gave, as if the rows had taken them."""
    table = LedgerAccount.__table__
    conn.execute(
        update(table).where(table.c.id == bindparam("ledger_id")).values(last_entry_date=bindparam("last")),
        [{"ledger_id": ledger, "last": day} for ledger, day in last_day.items()],
    )
    conn.commit()
    if conn.dialect.name == "postgresql":
        for model in (Contact, Matter, LedgerAccount, JournalEntry, JournalLine, DepositClearance):
            model_table = model.__table__
            last = select(func.max(model_table.c.id)).scalar_subquery()
            conn.execute(select(func.setval(func.pg_get_serial_sequence(model_table.name, "id"), last)))
        conn.commit()


def line_row(line_id, entry_id, ledger_id, amount, balance_after):
    return {
        "id": line_id,
        "entry_id": entry_id,
        "ledger_account_id": ledger_id,
        "amount_cents": amount,
        "balance_after_cents": balance_after,
    }


def database_size(dialect):
    if dialect == "sqlite":
        path = Path(db.engine.url.database)
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    else:
        size = db.session.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        )
        db.session.remove()
    return f"{int(size) / 2**20:,.0f} MB"


def read_balance(ledger_id):
    def run():
        return db.session.get(LedgerAccount, ledger_id).balance_cents

    return run


def read_page(app, ledger_id, offset, render=True, before=None):
    """The ledger (header and signs), a page of its lines with their entries, rendered; and what the pager needs.
    With before=None as the matter ledger's pager: a count of the ledger's lines (a matter's are few). With a line id
    (0 for the newest page) as the trust account's journal: PAGE + 1 lines before it, the extra one saying whether
    there are older ones, and no count (the bank ledger has half of all lines)."""
    template = app.jinja_env.from_string(PAGE_TEMPLATE if render else "")

    def run():
        ledger = db.session.get(LedgerAccount, ledger_id)
        statement = (
            select(JournalLine)
            .where(JournalLine.ledger_account_id == ledger_id)
            .order_by(JournalLine.id.desc())
            .options(joinedload(JournalLine.entry))
        )
        if before is None:
            lines = db.session.scalars(statement.offset(offset).limit(PAGE)).all()
            count = db.session.scalar(
                select(func.count()).select_from(JournalLine).where(JournalLine.ledger_account_id == ledger_id)
            )
            total = f"{count:,} lines"
        else:
            if before:
                statement = statement.where(JournalLine.id < before)
            lines = db.session.scalars(statement.limit(PAGE + 1)).all()
            total = "older lines" if len(lines) > PAGE else "the oldest lines"
            lines = lines[:PAGE]
        html = template.render(ledger=ledger, lines=lines, total=total)
        return f"{len(lines)} rows, then {total}, {len(html) / 1024:.1f} KB"

    return run


def count_lines(ledger_id):
    """What the bank ledger's pager ran on every page before issue 15: a count of all its lines."""

    def run():
        return db.session.scalar(
            select(func.count()).select_from(JournalLine).where(JournalLine.ledger_account_id == ledger_id)
        )

    return run


def measure(apps, runs, counters, iterations):
    """Per database: milliseconds per run, statements per run, the last run's result.

    The databases take turns, run by run, so that whatever else the machine is doing weighs on both alike.
    Each run has an app context of its own, as a request does: a fresh session, the firm's settings read again.
    """
    samples, results = [[] for _ in apps], [None for _ in apps]
    for i in range(WARMUP + iterations):
        if i == WARMUP:
            gc.collect()
            for app in apps:
                counters[app].count = 0
        for k, (app, run) in enumerate(zip(apps, runs, strict=True)):
            with app.app_context():
                db.session.remove()
                started = time.perf_counter()
                results[k] = run()
                elapsed = (time.perf_counter() - started) * 1000
            if i >= WARMUP:
                samples[k].append(elapsed)
    return [(samples[k], counters[app].count / iterations, results[k]) for k, app in enumerate(apps)]


def measure_get(clients, urls, counters, iterations, headers=None):
    """The same for whole pages through the test client: per database (samples, statements, what it answered).

    A page slow enough to blow HTTP_BUDGET_S over all the runs is timed fewer times, and says so.
    """
    samples, answers = [[] for _ in clients], ["" for _ in clients]
    started = time.perf_counter()
    for client, url in zip(clients.values(), urls, strict=True):
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            return [(None, 0, f"{url} answered {response.status_code}")] * len(clients)
    first = time.perf_counter() - started  # and the first warm-up
    warmup = WARMUP - 1
    if first * (WARMUP + iterations) > HTTP_BUDGET_S:
        warmup, iterations = 0, max(2, int(HTTP_BUDGET_S / first))
    for i in range(warmup + iterations):
        if i == warmup:
            gc.collect()
            for app in clients:
                counters[app].count = 0
        for k, (client, url) in enumerate(zip(clients.values(), urls, strict=True)):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            answers[k] = f"{response.status_code}, {len(response.data) / 1024:.1f} KB"
            if i >= warmup:
                samples[k].append(elapsed)
    if warmup != WARMUP - 1:
        answers[0] += f"; only {iterations} requests: the first two took {first:.1f} s"
    return [(samples[k], counters[app].count / iterations, answers[k]) for k, app in enumerate(clients)]


def ledger_routes(app):
    """GET routes for the trust ledger, if there are any yet (an endpoint naming 'ledger' or 'trust')."""
    found = [
        rule
        for rule in app.url_map.iter_rules()
        if ("ledger" in rule.endpoint or "trust" in rule.endpoint) and "GET" in rule.methods
    ]
    return sorted(found, key=lambda rule: rule.rule)


# What a URL argument names, from the path segment before it ("/matters/<int:ident>") or its own name.
ARGUMENT_WORDS = {
    "ledger": "ledger",
    "matter": "matter",
    "client": "contact",
    "contact": "contact",
    "account": "account",
}


def url_for_rule(rule, books, ledger_id):
    """(path, what its arguments name) for this database's measured matter, trust account or ledger; or None."""
    values, words = dict(rule.defaults or {}), set()
    for name in rule.arguments - values.keys():
        before = rule.rule.split(f":{name}>")[0].rsplit("/", 2)[-2] if f":{name}>" in rule.rule else ""
        word = next((w for k, w in ARGUMENT_WORDS.items() if k in name or before.startswith(k)), None)
        if word is None:
            return None
        words.add(word)
        values[name] = {
            "ledger": ledger_id,
            "matter": books.matter_id,
            "contact": books.contact_id,
            "account": books.account_id,
        }[word]
    built = rule.build(values)
    return (built[1], words) if built else None


class Table:
    """Rows of median / p95 / max in both databases, the ratio of the p95s and the verdict on the goal."""

    def __init__(self, big, small):
        cells = "".join(f" {c:>7}" for c in ("median", "p95", "max"))
        self.rows = [
            f"{'':<44} {f'{big:,} lines':>23}  {f'{small:,} lines':>23}",
            f"{'measurement':<44}{cells} {cells} {'ratio':>6} {'SQL':>4}  goal",
        ]
        self.rows.append("-" * len(self.rows[1]))
        self.verdicts = {}

    def add(self, label, big, small, note="", goal=GOAL_P95_MS):
        (big_samples, statements, _), (small_samples, _, _) = big, small
        big_p95, small_p95 = percentile(big_samples, 95), percentile(small_samples, 95)
        ratio = big_p95 / small_p95
        failed = [what for what, bad in (("p95", big_p95 > goal), ("ratio", ratio > GOAL_RATIO)) if bad]
        verdict = "FAIL " + "+".join(failed) if failed else "PASS"
        if goal != GOAL_P95_MS:
            verdict += f" (p95 <= {goal:g})"
        self.verdicts[label] = (big_p95, ratio, verdict)
        big_cells, small_cells = (
            f"{statistics.median(s):7.2f} {percentile(s, 95):7.2f} {max(s):7.2f}" for s in (big_samples, small_samples)
        )
        self.rows.append(f"{label:<44} {big_cells}  {small_cells} {ratio:6.2f} {statements:4.0f}  {verdict}")
        if note:
            self.rows.append(f"{'':<6}{note}")

    def print(self):
        print("\n".join(self.rows))


def check(app, books):
    with app.app_context():
        started = time.perf_counter()
        problems = check_books()
        seconds = time.perf_counter() - started
        db.session.remove()
    print(f"check_books() on {books.lines:,} lines: {seconds:.1f} s, ", end="")
    if problems:
        print(f"{len(problems)} problem(s):", *problems[:5], sep="\n  ")
        raise SystemExit(1)
    print("the books are sound")


def main():
    args = parse_args()
    started = time.perf_counter()
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with bench_app(args.pg) as (app_big, where), bench_app(args.pg) as (app_small, _):
        apps = (app_big, app_small)
        with app_big.app_context():
            big = load_books(args.lines, random.Random(2026))
        with app_small.app_context():
            small = load_books(SMALL_LINES, random.Random(2027))
        print(f"Database: {where}, and a second one like it for the small books")
        print(f"Load average (other work on this machine) before loading: {load_average}")
        for books in (big, small):
            analyzed = f", then ANALYZE in {books.analyze_seconds:.1f} s" if books.analyze_seconds else ""
            print(
                f"Loaded {books.lines:,} journal lines ({books.lines // 2:,} entries) over {books.matters:,} matters "
                f"in {books.load_seconds:.1f} s{analyzed}; {books.size} on disk"
            )
        for app, books in zip(apps, (big, small), strict=True):
            check(app, books)

        counters = {}
        for app in apps:
            with app.app_context():
                counters[app] = StatementCounter(db.engine)
        n = args.iterations
        print(
            f"\nMatter {big.matter_id} has {MEASURED_LINES} lines in both databases (the typical matter has "
            f"{LINES_PER_MATTER // 2}; the other line of every entry is the bank's). The bank ledger has "
            f"{big.bank_lines:,} and {small.bank_lines:,}.\n"
            f"A page is: the ledger, {PAGE} lines with their entries (joinedload), rendered with the app's money "
            f"filter;\nfor its pager the matter's counts its lines, the bank's reads {PAGE} + 1 lines before a line "
            "(keyset).\n"
            f"{n} runs each after {WARMUP} warm-ups, each on a fresh session; milliseconds per run; ratio = p95 at "
            f"{big.lines:,} / p95 at {small.lines:,};\nSQL = statements per run (on SQLite one is the BEGIN); "
            f"goal: p95 <= {GOAL_P95_MS:g} ms and ratio <= {GOAL_RATIO:g}\n"
        )
        deep = f"(c) bank ledger page {DEEP_OFFSET // PAGE + 1} (before the line at {DEEP_OFFSET:,})"
        matter_page = f"(b) matter ledger page 1 ({PAGE} of {MEASURED_LINES} lines)"
        reads = [  # label, the run for a database's books, whether to show what the run read
            ("(a) balance read, matter ledger", lambda app, books: read_balance(books.matter_ledger_id), False),
            (matter_page, lambda app, books: read_page(app, books.matter_ledger_id, 0), True),
            (
                "    the same, queries only (no rendering)",
                lambda app, books: read_page(app, books.matter_ledger_id, 0, False),
                False,
            ),
            ("(c) bank ledger page 1", lambda app, books: read_page(app, books.bank_ledger_id, 0, before=0), True),
            (deep, lambda app, books: read_page(app, books.bank_ledger_id, 0, before=books.deep_before), True),
            (
                "    what its pager counted before: count(*)",
                lambda app, books: count_lines(books.bank_ledger_id),
                True,
            ),
        ]
        table = Table(big.lines, small.lines)
        for label, make_run, show in reads:
            runs = [make_run(app, books) for app, books in zip(apps, (big, small), strict=True)]
            results = measure(apps, runs, counters, n)
            note = f"{results[0][2]}; at {small.lines:,}: {results[1][2]}" if show else ""
            if label == deep and small.deep_offset != DEEP_OFFSET:
                note += f" (its last page, before the line at {small.deep_offset})"
            table.add(label, *results, note=note)
        table.print()
        for label, what in ((matter_page, "the matter ledger page"), (deep, "the bank ledger's deep page")):
            p95, ratio, verdict = table.verdicts[label]
            print(
                f"\nGoal for {what}: p95 {p95:.2f} ms at {big.lines:,} lines (<= {GOAL_P95_MS:g}), "
                f"ratio {ratio:.2f} (<= {GOAL_RATIO:g}): {verdict}"
            )
        http_pages(app_big, app_small, big, small, counters, n)
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average at the end: {load_average}")


def http_pages(app_big, app_small, big, small, counters, n):
    """Whole pages through the test client, for whatever trust ledger routes exist when the bench runs."""
    rules = ledger_routes(app_big)
    if not rules:
        print("\nNo trust ledger route in the app yet (no GET endpoint naming 'ledger' or 'trust'): no HTTP figures.")
        return
    print(f"\nTrust routes in the app: {', '.join(rule.rule for rule in rules)}")
    cases, skipped = [], []  # (label, [url at 1M, url at 1k], headers, goal p95 in ms)
    for rule in rules:
        built = [url_for_rule(rule, books, books.matter_ledger_id) for books in (big, small)]
        words = built[0][1] if None not in built else set()
        urls = [path for path, _ in built] if words else []
        if "ledger" in words:
            cases.append((f"GET {rule.rule} (matter)", urls, None, GOAL_P95_MS))
            bank = [url_for_rule(rule, books, books.bank_ledger_id)[0] for books in (big, small)]
            cases.append((f"GET {rule.rule} (bank)", bank, None, GOAL_P95_MS))
        elif "matter" in words:
            cases.append((f"GET {rule.rule}", urls, None, GOAL_P95_MS))
        elif words == {"account"} and rule.rule.endswith(">"):
            cases += account_cases(urls, big, small)
        elif words == {"account"} and rule.rule.endswith("/ledgers"):
            # Who the money belongs to: the measured matter found by its number, and the last page of every ledger.
            search = [f"{url}?q={books.matter_number}" for url, books in zip(urls, (big, small), strict=True)]
            cases.append(("GET /trust/accounts/<id>/ledgers?q=<number>", search, HTMX, GOAL_ACCOUNT_MS))
            pages = (books.matters // 25 + 1 for books in (big, small))  # PAGE_SIZE
            last = [f"{url}?show=all&page={page}" for url, page in zip(urls, pages, strict=True)]
            cases.append(("    ?show=all&page=<last> (htmx)", last, HTMX, GOAL_ACCOUNT_MS))
        else:
            skipped.append(rule.rule)
    if skipped:
        print(f"Not timed (no measured matter or ledger in their URL): {', '.join(skipped)}")
    if not cases:
        print("none with arguments this bench can fill: no HTTP figures.")
        return
    clients = {app: app.test_client() for app in (app_big, app_small)}
    for client in clients.values():
        sign_in(client)
    print(f"Whole pages through the test client, signed in as the matters' lawyer ({n} requests each):\n")
    table = Table(big.lines, small.lines)
    slow = None
    for label, urls, headers, goal in cases:
        if slow and label.startswith(slow[0]):
            table.rows.append(f"{label[:44]:<44} not timed: page 1 already takes {slow[1] / 1000:.1f} s")
            continue
        results = measure_get(clients, urls, counters, n, headers)
        if results[0][0] is None:
            table.rows.append(f"{label[:44]:<44} not timed: {results[0][2]}")
            continue
        if statistics.median(results[0][0]) > 1000:
            slow = (label, statistics.median(results[0][0]))
        note = f"{urls[0]}: {results[0][2]}; {urls[1]}: {results[1][2]}"
        table.add(label[:44], *results, note=note, goal=goal)
    table.print()


def account_cases(urls, big, small):
    """The trust account's page whole (who holds money and the journal's first page), then its journal alone as its
    pager asks for it with htmx (the bank ledger's page): the newest lines, page 21 by keyset, page 21 by an old
    ?page= link (an offset)."""
    deep_pages = [DEEP_OFFSET // PAGE + 1, small.deep_offset // PAGE + 1]
    keyset = [f"{url}?before={books.deep_before}" for url, books in zip(urls, (big, small), strict=True)]
    offset = [f"{url}?page={page}" for url, page in zip(urls, deep_pages, strict=True)]
    return [
        ("GET /trust/accounts/<id> (the whole page)", urls, None, GOAL_ACCOUNT_MS),
        ("    its journal (htmx), newest lines", urls, HTMX, GOAL_P95_MS),
        (f"    its journal (htmx), page {deep_pages[0]}: ?before=", keyset, HTMX, GOAL_P95_MS),
        (f"    its journal (htmx), ?page={deep_pages[0]}", offset, HTMX, GOAL_P95_MS),
    ]


if __name__ == "__main__":
    main()
