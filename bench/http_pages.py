"""How close the app's pages come to a bare Flask "hello world" served the same way: requests per second under wrk.

Loads the demo firm (`flask db upgrade`, `flask trustweb demo`) into a throwaway SQLite file, or with --pg URL into
a new schema of that PostgreSQL database (dropped afterwards); serves the app (wsgi:app) and bench/hello.py each
with `gunicorn -w 4` (sync workers) on a loopback port, flood limits off (TRUSTWEB_RATELIMIT_ENABLED=false); signs
in through the login form; then drives, in turn and --rounds times, hello world, the client's pay page, the
dashboard and a matter page with `wrk -t2 -c32 -d10s` (a Python load generator when wrk is not installed), and
prints requests per second and each page's ratio to hello world against the goals of issue 15.

    .venv/bin/python bench/http_pages.py [--pg postgresql://...] [--duration 10] [--rounds 3] [--python]
"""

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import (  # noqa: E402
    USER_AGENT,
    BenchError,
    Browser,
    database,
    gunicorn,
    load_demo,
    run_bench,
    sign_in,
    uptime,
)

from trustweb.demo import DEMO_PASSWORD, DEMO_USERS  # noqa: E402

LAWYER = next(email for email, _name, role in DEMO_USERS if role == "lawyer")
MATTER_LINK = re.compile(r'href="(/matters/\d+)"')
UNITS = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
PAY_GOAL, STAFF_GOAL = 0.60, 0.40


@dataclass
class Target:
    label: str
    url: str
    cookie: str | None
    goal: float | None
    expect: str  # text the right page has, and a redirect to the sign-in page has not
    size: int = 0  # bytes of one answer, headers included, as checked before the runs


@dataclass
class Run:
    rps: float
    requests: int
    avg_bytes: float
    problems: list[str]  # what makes the run's figures not the page's: wrong answers, socket errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL database to run in (a new schema); else SQLite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="times each page and hello world are run (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of an unmeasured run of each first (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for each server (default 4)")
    parser.add_argument("--python", action="store_true", help="the Python load generator even if wrk is installed")
    return parser.parse_args()


def header_lines(target: Target) -> list[str]:
    return [f"User-Agent: {USER_AGENT}"] + ([f"Cookie: {target.cookie}"] if target.cookie else [])


def check(target: Target) -> int:
    """One request as the load generator sends it: the right page with 200 (not the sign-in page); its size."""
    parts = urllib.parse.urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request("GET", parts.path, headers=dict(line.split(": ", 1) for line in header_lines(target)))
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or target.expect.encode() not in body:
        raise BenchError(f"{target.label} ({parts.path}) answered {response.status} without {target.expect!r}")
    head = f"HTTP/1.1 {response.status} {response.reason}\r\n" + str(response.headers)
    return len(head.encode()) + len(body)


def run_wrk(target: Target, seconds: int, args: argparse.Namespace) -> Run:
    # A longer timeout than wrk's 2 s: a slow page's late answers are counted, not reported as socket errors.
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "30s"]
    for line in header_lines(target):
        command += ["-H", line]
    out = subprocess.run(
        [*command, target.url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    found = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)([KMGT]?B) read", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found or not rps:
        raise BenchError(f"could not read wrk's output:\n{out}")
    requests = int(found.group(1))
    problems = [f"{n} answers not 2xx or 3xx" for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out)]
    problems += [f"socket errors ({errors.group(1)})" for errors in re.finditer(r"Socket errors: (.*)", out)]
    size = float(found.group(2)) * UNITS[found.group(3)]
    return Run(float(rps.group(1)), requests, size / requests if requests else 0, problems)


def run_python(target: Target, seconds: int, args: argparse.Namespace) -> Run:
    """args.connections threads, each sending GETs one after another for the given seconds."""
    parts = urllib.parse.urlsplit(target.url)
    headers = dict(line.split(": ", 1) for line in header_lines(target))
    lock = threading.Lock()
    totals = {"requests": 0, "bad": 0, "bytes": 0}
    started = time.monotonic()
    deadline = started + seconds

    def load() -> None:
        requests = bad = size = 0
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        while time.monotonic() < deadline:
            try:
                conn.request("GET", parts.path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                requests += 1
                size += len(body) + len(str(response.headers)) + 17
                bad += response.status >= 400
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
        conn.close()
        with lock:
            totals["requests"] += requests
            totals["bad"] += bad
            totals["bytes"] += size

    threads = [threading.Thread(target=load) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    n, bad = totals["requests"], totals["bad"]
    return Run(n / elapsed, n, totals["bytes"] / n if n else 0, [f"{bad} answers 4xx/5xx or failed"] if bad else [])


def measure(target: Target, seconds: int, args: argparse.Namespace) -> Run:
    """One run; afterwards the page must still be itself (a session that ended would turn it into a redirect)."""
    run = (run_python if args.use_python else run_wrk)(target, seconds, args)
    if target.size:
        check(target)
        # The load generator counts a redirect as a success: answers much smaller than the page say it got some.
        if run.avg_bytes < 0.8 * target.size:
            run.problems.append(f"{run.avg_bytes:.0f} bytes an answer where the page is {target.size}")
    return run


def staff_pages(app_url: str) -> tuple[str, str]:
    """The lawyer signed in through the form: (the session cookie, the path of a matter on the dashboard)."""
    browser = Browser(app_url)
    try:
        sign_in(browser, LAWYER, DEMO_PASSWORD)
        dashboard = browser.get("/")
    finally:
        browser.close()
    matter = MATTER_LINK.search(dashboard.body)
    if dashboard.status != 200 or matter is None:
        raise BenchError(f"the dashboard answered {dashboard.status} with no matter on it")
    return browser.cookie_header(), matter.group(1)


def report(targets: list[Target], runs: dict[str, list[Run]], args: argparse.Namespace) -> bool:
    """The table; False if a run got wrong answers (its figures mean nothing)."""
    sound = True
    rounds = " ".join(f"{f'round {i + 1}':>9}" for i in range(args.rounds))
    print(f"\n{'requests/s':<16} {rounds} {'median':>9} {'vs hello':>9}   goal")
    hello = runs["hello world"]
    for target in targets:
        mine = runs[target.label]
        line = f"{target.label:<16} " + " ".join(f"{run.rps:9.1f}" for run in mine)
        line += f" {statistics.median(run.rps for run in mine):9.1f}"
        if target.goal is not None:
            # Each round's page against that round's hello world (the same conditions), then the median.
            ratio = statistics.median(run.rps / base.rps for run, base in zip(mine, hello, strict=True))
            verdict = "PASS" if ratio >= target.goal else "FAIL"
            line += f" {ratio:8.3f}x   >= {target.goal:.2f}x {verdict}"
        problems = [f"round {i + 1}: {', '.join(run.problems)}" for i, run in enumerate(mine) if run.problems]
        if problems:
            sound = False
            line += "   INVALID: " + "; ".join(problems)
        print(line)
    return sound


def main() -> int:
    args = parse_args()
    args.use_python = args.python or shutil.which("wrk") is None
    tool = (
        f"Python load generator ({args.connections} threads, keep-alive where the server allows it)"
        if args.use_python
        else f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
    )
    print(f"load before: {uptime()}")
    with database(args.pg) as db, tempfile.TemporaryDirectory(prefix="trustweb-bench-logs-") as logs:
        started = time.monotonic()
        pay_paths = load_demo(db)
        if not pay_paths:
            raise BenchError("`flask trustweb demo` printed no pay link")
        request_pay = pay_paths[0]  # the open trust request's (the second is an invoice's)
        loaded = time.monotonic() - started
        with (
            gunicorn("wsgi:app", db.env(), args.workers, Path(logs) / "app.log") as app_url,
            gunicorn("bench.hello:app", db.env(), args.workers, Path(logs) / "hello.log") as hello_url,
        ):
            cookie, matter = staff_pages(app_url)
            targets = [
                Target("hello world", hello_url + "/", None, None, "Hello, World!"),
                Target("pay page GET", app_url + request_pay, None, PAY_GOAL, 'name="checkout"'),
                Target("dashboard", app_url + "/", cookie, STAFF_GOAL, matter),
                Target("matter page", app_url + matter, cookie, STAFF_GOAL, 'href="/matters/'),
            ]
            for target in targets:
                target.size = check(target)
            up = time.monotonic() - started - loaded
            print(f"Database: {db.where}; demo firm loaded in {loaded:.1f} s, servers up in {up:.1f} s")
            print(f"Servers: gunicorn -w {args.workers} (sync), wsgi:app and bench/hello.py; load: {tool}")
            print(f"CPUs: {os.cpu_count()}; pay page {request_pay[:12]}..., matter page {matter}")
            for target in targets:
                if args.warmup:
                    measure(target, args.warmup, args)
            runs: dict[str, list[Run]] = {target.label: [] for target in targets}
            for i in range(args.rounds):
                for target in targets:
                    runs[target.label].append(measure(target, args.duration, args))
                figures = ", ".join(f"{label} {found[-1].rps:.0f}/s" for label, found in runs.items())
                print(f"round {i + 1}: {figures}", flush=True)
    sound = report(targets, runs, args)
    print(f"\nload after:  {uptime()}")
    if not sound:
        print("Some runs got wrong answers: their figures are not the page's.", file=sys.stderr)
    return 0 if sound else 1


if __name__ == "__main__":
    run_bench(main)
