"""How fast the contact and matter lists answer with a large firm's data: 20,000 contacts, 20,000 matters.

Builds the app on a throwaway SQLite file (or, with --pg URL, in a fresh schema on PostgreSQL that is
dropped afterwards), bulk-loads the rows, signs in through the login form with the test client, then
times each request and prints the median and 95th percentile, the SQL statements each one ran, and
the rows it matched.

    .venv/bin/python bench/bench_lists.py [--requests 50] [--rows 20000] [--pg postgresql://...]
"""

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trustweb import create_app  # noqa: E402
from trustweb.config import database_url  # noqa: E402
from trustweb.demo import CITIES, COMPANIES, FIRST, LAST, MATTERS, STREETS  # noqa: E402
from trustweb.extensions import db  # noqa: E402
from trustweb.models import Contact, FirmSettings, Matter, User  # noqa: E402
from trustweb.services.sessions import password_hasher  # noqa: E402

EMAIL = "bench.lawyer@firm.example.com"
PASSWORD = "bench-password-not-secret"  # noqa: S105  (a throwaway user in a throwaway database)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
IN_ALL = re.compile(r"([\d,]+) in all")
CONTACT_QUERY = "an"  # in about a quarter of the names: a search that still pages
MATTER_QUERY = "estate"
CLIENT_QUERY = FIRST[0][:2]  # the start of many first names: twenty offered at once
SURNAME_QUERY = LAST[0][:4]  # no name starts with it; found at a later word (the slower search)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="contacts, and matters (default 20000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per URL (default 50)")
    parser.add_argument("--pg", metavar="URL", help="run on PostgreSQL in a fresh schema instead of SQLite")
    return parser.parse_args()


@contextmanager
def bench_app(pg_url):
    """An app on an empty database: a temporary SQLite file, or a schema of its own on PostgreSQL."""
    if not pg_url:
        with tempfile.TemporaryDirectory(prefix="trustweb-bench-") as tmp:
            app = create_app({"DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"})
            yield app, "SQLite (temporary file)"
            with app.app_context():
                db.engine.dispose()
        return
    schema = f"tw_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # As the README's production notes advise for SSDs or a database that fits in memory: random reads are
        # cheap (PostgreSQL's default of 4 is for spinning disks, and picks whole-table scans for a month's lines).
        options = {"connect_args": {"options": f"-csearch_path={schema} -crandom_page_cost=1.1"}}
        app = create_app({"DATABASE_URI": pg_url, "SQLALCHEMY_ENGINE_OPTIONS": options})
        yield app, f"PostgreSQL (schema {schema}, dropped afterwards)"
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def load_rows(n, rng):
    """n contacts and n matters in two bulk inserts; returns the id of a matter to open."""
    db.create_all()
    FirmSettings.get()
    lawyer = User(email=EMAIL, name="Bench Lawyer", role="lawyer", password_hash=password_hasher().hash(PASSWORD))
    db.session.add(lawyer)
    db.session.flush()
    contacts = []
    for i in range(n):
        if i % 10 == 9:
            name = f"{rng.choice(COMPANIES)} {i}"
            email = f"accounts{i}@company.example.com"
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            email = f"{first}.{last}.{i}@example.com".lower().replace("'", "")
        contacts.append(
            {
                "kind": "company" if i % 10 == 9 else "person",
                "name": name,
                "email": email,
                "phone": f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}",
                "address": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}",
            }
        )
    db.session.execute(insert(Contact), contacts)
    first_contact_id = db.session.scalar(text("SELECT min(id) FROM contact"))
    start = date(2026, 11, 1)
    matters = []
    for i in range(n):
        area, description = MATTERS[i % len(MATTERS)]
        matters.append(
            {
                "number": f"2026-{i:05d}",
                "description": f"{description} {i}",
                "practice_area": area,
                "client_id": first_contact_id + rng.randrange(n),
                "lawyer_id": lawyer.id,
                "opened_on": start - timedelta(days=rng.randint(0, 2000)),
                "status": "open",
            }
        )
    db.session.execute(insert(Matter), matters)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Autovacuum would get there soon after a real import; without statistics the plans are guesses.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text('ANALYZE contact, matter, "user"'))
    return db.session.scalar(text("SELECT max(id) FROM matter"))


def sign_in(client):
    page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    response = client.post("/auth/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise SystemExit(f"sign-in failed with status {response.status_code}")


class StatementCounter:
    """Counts the SQL statements the app runs, to tell a slow query from many small ones."""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, *args):
        self.count += 1


def time_requests(client, counter, url, headers, n):
    """Milliseconds per request over n runs (after two warm-ups), statements per request, rows matched."""
    for _ in range(2):
        client.get(url, headers=headers)
    samples = []
    counter.count = 0
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    body = response.get_data(as_text=True)
    matched = IN_ALL.search(body)
    rows = body.count("<tr>") - body.count("<thead><tr>")
    return samples, counter.count / n, (matched.group(1) if matched else "-"), rows, len(body)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main():
    args = parse_args()
    rng = random.Random(2026)
    with bench_app(args.pg) as (app, where):
        started = time.perf_counter()
        with app.app_context():
            matter_id = load_rows(args.rows, rng)
            contacts = db.session.scalar(text("SELECT count(*) FROM contact"))
            matters = db.session.scalar(text("SELECT count(*) FROM matter"))
            counter = StatementCounter(db.engine)
        loaded = time.perf_counter() - started
        print(f"Database: {where}")
        print(f"Loaded {contacts:,} contacts and {matters:,} matters in {loaded:.1f} s (page size 25)")

        client = app.test_client()
        sign_in(client)
        htmx = {"HX-Request": "true"}
        cases = [
            ("contacts list, full page", "/contacts/", {}),
            (f"contacts search '{CONTACT_QUERY}', htmx rows", f"/contacts/?q={CONTACT_QUERY}", htmx),
            ("contacts page 400, full page", "/contacts/?page=400", {}),
            (f"matters search '{MATTER_QUERY}', full page", f"/matters/?q={MATTER_QUERY}", {}),
            ("one matter", f"/matters/{matter_id}", {}),
            ("new trust request form", "/bills/requests/new", {}),
            # The form's client combobox: names starting with the text first, then (when fewer than 20) a later word.
            (f"client search '{CLIENT_QUERY}', htmx", f"/bills/requests/clients?client={CLIENT_QUERY}", htmx),
            (f"client search '{SURNAME_QUERY}', htmx", f"/bills/requests/clients?client={SURNAME_QUERY}", htmx),
            # Nothing matches: the later-word search reads every name (the worst case).
            ("client search 'Qxz', htmx", "/bills/requests/clients?client=Qxz", htmx),
        ]
        print(f"{args.requests} requests each, after 2 warm-ups; times in milliseconds per request\n")
        columns = ("median", 7), ("p95", 7), ("max", 7), ("SQL/req", 8), ("matched", 8), ("rows", 5), ("KB", 6)
        header = f"{'request':<38}" + "".join(f" {name:>{width}}" for name, width in columns)
        print(header)
        print("-" * len(header))
        for label, url, headers in cases:
            samples, statements, matched, rows, size = time_requests(client, counter, url, headers, args.requests)
            print(
                f"{label:<38} {statistics.median(samples):7.1f} {percentile(samples, 95):7.1f} {max(samples):7.1f}"
                f" {statements:8.1f} {matched:>8} {rows:5d} {size / 1024:6.1f}"
            )
        print(f"\nTotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
