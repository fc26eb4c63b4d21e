"""Scale-out on loopback: two app servers and two workers on one PostgreSQL and one Redis, behind haproxy.

The layout of the README's production section, as real processes: gunicorn serving `wsgi:app` twice, two
`flask trustweb worker`s, haproxy balancing round-robin, in a PostgreSQL schema of the test's own (migrated,
then dropped). Through the balancer and against each server it proves what the servers must share: a staff
session, the flood limits, a checkout's idempotency (the same checkout posted to both at once books once),
and the worker's jobs and emails (each done once though two workers run); then the books and the audit
trail are checked as an auditor would.

It needs PostgreSQL (TRUSTWEB_TEST_DATABASE_URL), haproxy and Redis on 127.0.0.1:6379. Without haproxy or
Redis it is skipped, unless TRUSTWEB_REQUIRE_SCALE_OUT=1 (set by CI) makes that a failure.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import ON_POSTGRES, PG_URL, make_config
from tests.dates import days_ahead
from tests.factories import PASSWORD
from tests.mailbox import free_port
from tests.requests.steps import CHECKOUT, CSRF, card_details, gen_firm, gen_request
from trustweb import create_app
from trustweb.config import database_url
from trustweb.extensions import db
from trustweb.models import JournalEntry, OutboxMessage, Payment, ScheduledJob, TrustRequest, User
from trustweb.models.base import utcnow
from trustweb.models.mail import WAITING
from trustweb.services import mail
from trustweb.services import requests as request_service

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="two app servers share one PostgreSQL: set TRUSTWEB_TEST_DATABASE_URL to run it"
)

ROOT = Path(__file__).resolve().parents[2]
# Not database 0: after test_flood_limit_state_can_live_in_redis the suite's one limiter holds that test's Redis
# storage, and each later test's limiter.reset() (conftest) there deletes every counter, this test's too.
REDIS_URL = "redis://127.0.0.1:6379/1"
READY_SECONDS = 30  # a server, a worker or the balancer up; the emails all sent
TIMEOUT = 30  # seconds a request may take
WAIT = threading.Event()  # never set: WAIT.wait(s) pauses between polls (time.sleep breaks under libfaketime)
PAID_CENTS = 150_000
STATEMENTS = 20  # emails waiting before the workers start, which both reach for at once


def required(reason):
    """Skip for want of a tool, or fail when CI says the scale-out test must run."""
    if os.environ.get("TRUSTWEB_REQUIRE_SCALE_OUT") == "1":
        pytest.fail(f"{reason}, and TRUSTWEB_REQUIRE_SCALE_OUT=1 requires the scale-out test to run")
    pytest.skip(reason)


def haproxy_path():
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")  # sbin: not on every user's PATH
    if found is None:
        required("haproxy is not installed (apt-get install haproxy)")
    return found


def redis_reachable():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        required("no Redis on 127.0.0.1:6379")


def poll(check, what, seconds=READY_SECONDS):
    """Wait until check() gives something true, and return it; fail naming what never came."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"after {seconds} s still waiting for {what}"
        WAIT.wait(0.05)


class Browser(requests.Session):
    """A browser of its own (cookies, user agent) that shows each answer as it comes: no redirect followed."""

    def __init__(self, user_agent):
        super().__init__()
        self.headers["User-Agent"] = user_agent

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False  # Session.get() passes True
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, *args, **kwargs)


@contextmanager
def own_schema():
    """A PostgreSQL schema of this test's own beside the suite's; yields the URL every process connects with.

    A schema, not a database: DROP DATABASE waits for a checkpoint, many seconds on a busy server.
    """
    name = f"scale_{secrets.token_hex(6)}"
    admin = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


class Cluster:
    """The processes of the production layout on loopback; each stopped on leaving, also after a failure."""

    def __init__(self, stack, folder, environment):
        self.folder, self.environment = folder, environment
        self.logs, self.processes = {}, []
        stack.callback(self.stop_all)

    def start(self, name, args):
        log = self.folder / f"{name}.log"
        self.logs[name] = log
        with log.open("w") as out:
            process = subprocess.Popen(args, cwd=ROOT, env=self.environment, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    @staticmethod
    def stop(*processes):
        """SIGTERM to each (gunicorn and the worker finish what they are doing), then wait for them all."""
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        self.stop(*reversed(self.processes))
        for name in self.logs:  # pytest shows them when the test fails
            print(f"----- {name} -----\n{self.log(name)[-4000:]}")

    @staticmethod
    def flask(*args):
        return [sys.executable, "-m", "flask", "--app", "wsgi", *args]

    def run(self, *commands):
        """Run the commands side by side to their end; the (output, exit status) of each."""
        started = [
            subprocess.Popen(
                c, cwd=ROOT, env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for c in commands
        ]
        return [(process.communicate(timeout=60)[0], process.returncode) for process in started]

    def log(self, name):
        return self.logs[name].read_text()

    def wait_for(self, name, process, base):
        """Poll until the server (or the balancer) serves the sign-in page; fail at once if it stopped."""

        def serving():
            assert process.poll() is None, f"{name} stopped:\n{self.log(name)}"
            try:
                return Browser("readiness poll").get(f"{base}/auth/login").status_code == 200
            except requests.ConnectionError:
                return False  # not listening yet

        poll(serving, name)


def haproxy_config(port, servers):
    """The README's haproxy configuration, on loopback without TLS; X-Served-By says which server answered."""
    lines = [
        "global",
        "    maxconn 256",
        "defaults",
        "    mode http",
        "    option forwardfor",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "frontend trustweb",
        f"    bind 127.0.0.1:{port}",
        "    http-request set-header X-Forwarded-Proto http",
        "    http-request set-header X-Forwarded-Host %[req.hdr(host)]",
        "    default_backend app_servers",
        "backend app_servers",
        "    balance roundrobin",
        "    option httpchk GET /auth/login",
        "    http-response set-header X-Served-By %[srv_name]",
    ]
    lines += [f"    server {name} 127.0.0.1:{server_port} check inter 2s" for name, server_port in servers.items()]
    return "\n".join(lines) + "\n"


def seed(app):
    """A firm with a lawyer, two clients and their matters; one request to pay by card, one due tomorrow whose
    reminder is due now, and statements waiting in the outbox. Returns what the test needs."""
    with app.app_context():
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        paid = db.session.get(TrustRequest, gen_request(setup, amount_cents=PAID_CENTS))
        link = request_service.copy_link(paid, lawyer)  # shared by hand: no request email to race the payment
        reminded = db.session.get(
            TrustRequest,
            gen_request(
                setup,
                contact_id=setup.client_b,
                matter_id=setup.matter_b1,
                due_on=days_ahead(1),
                recipients=("ben@example.com",),
            ),
        )
        request_service.copy_link(reminded, lawyer)
        for n in range(STATEMENTS):
            mail.queue("receipt", [f"client{n:02d}@example.com"], f"Statement {n:02d}", "Your trust statement.")
        # The morning's reminders are due now: both workers meet the job at once.
        db.session.add(ScheduledJob(name="reminders", next_run_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        return {
            "lawyer": lawyer.email,
            "matter": setup.matter_a1,
            "request": paid.id,
            "reminded": reminded.id,
            "pay_path": urlsplit(link).path,
        }


def disconnect(app):
    with app.app_context():
        db.engine.dispose()


def served_by(response):
    return response.headers.get("X-Served-By")


def test_two_app_servers_and_two_workers_behind_haproxy_act_as_one(mailbox, tmp_path):
    haproxy = haproxy_path()
    redis_reachable()
    prefix = f"tw-scale-{secrets.token_hex(6)}"
    with own_schema() as url, ExitStack() as stack:
        store = redis.Redis.from_url(REDIS_URL)
        stack.callback(lambda: [store.delete(key) for key in store.scan_iter(f"*{prefix}*")])
        ports = {"a": free_port(), "b": free_port(), "balancer": free_port()}
        bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRUSTWEB_")},
            "TRUSTWEB_DATABASE_URL": url,
            "TRUSTWEB_SECRET_KEY": secrets.token_urlsafe(32),  # the same on every server
            "TRUSTWEB_BASE_URL": bases["balancer"],
            "TRUSTWEB_PROXY_COUNT": "1",
            "TRUSTWEB_RATELIMIT_STORAGE_URL": REDIS_URL,
            "TRUSTWEB_RATELIMIT_KEY_PREFIX": prefix,
            "TRUSTWEB_MAIL_SERVER": "127.0.0.1",
            "TRUSTWEB_MAIL_PORT": str(mailbox.port),
            "TRUSTWEB_WORKER_POLL_SECONDS": "0.2",
            "TRUSTWEB_HTMX_SOURCE": "local",
        }
        cluster = Cluster(stack, tmp_path, environment)
        # The servers start first: they touch no table until asked for a page, and importing the app is slow.
        servers = {
            name: cluster.start(
                name,
                # One process each: the two servers already share nothing but PostgreSQL and Redis, and every
                # further process costs the test an import of the app.
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{ports[name]}", "--workers", "1"]
                # gunicorn 27's control socket is one path per user (~/.gunicorn): two servers on one box collide
                + ["--no-control-socket", "--access-logfile", "-", "wsgi:app"],
            )
            for name in ("a", "b")
        }
        [(said, status)] = cluster.run(cluster.flask("db", "upgrade"))
        assert status == 0, said
        app = create_app(make_config(url))
        stack.callback(disconnect, app)
        seeded = seed(app)
        workers = {name: cluster.start(name, cluster.flask("trustweb", "worker")) for name in ("worker 1", "worker 2")}
        for name, process in servers.items():
            cluster.wait_for(name, process, bases[name])
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config(ports["balancer"], {"a": ports["a"], "b": ports["b"]}))
        balancer = cluster.start("haproxy", [haproxy, "-db", "-f", str(config)])
        cluster.wait_for("haproxy", balancer, bases["balancer"])

        a_staff_session_made_on_one_server_is_valid_on_the_other(bases, seeded)
        the_same_checkout_posted_to_both_servers_at_once_books_once(bases, seeded, app)
        the_flood_limit_is_counted_once_across_both_servers(bases, seeded, store, prefix)
        jobs_and_emails_are_done_once_by_two_workers(cluster, workers, app, mailbox, seeded)

        # What an auditor runs after the day: every balance re-derived, and the audit trail (whose events the
        # two servers appended and the workers sealed) checked as one chain.
        for said, status in cluster.run(
            cluster.flask("trustweb", "check-books"), cluster.flask("trustweb", "audit-verify")
        ):
            assert status == 0, said


def a_staff_session_made_on_one_server_is_valid_on_the_other(bases, seeded):
    """The lawyer signs in on server A; server B, and the balancer whichever server it picks, know the session."""
    browser = Browser("Firefox on the lawyer's desk")  # the session is bound to it (session protection "strong")
    login = browser.get(f"{bases['a']}/auth/login")
    form = {"csrf_token": CSRF.search(login.text).group(1), "email": seeded["lawyer"], "password": PASSWORD}
    signed_in = browser.post(f"{bases['a']}/auth/login", data=form)
    assert signed_in.status_code == 303, signed_in.text
    matter = f"/matters/{seeded['matter']}"
    on_b = browser.get(f"{bases['b']}{matter}")
    assert on_b.status_code == 200 and "Purchase of 12 Elm St" in on_b.text
    through = [browser.get(f"{bases['balancer']}{matter}") for _ in range(2)]
    assert [page.status_code for page in through] == [200, 200]
    assert {served_by(page) for page in through} == {"a", "b"}  # round-robin: each server served one
    # Without the cookie the same page is refused: it was the shared session that let the lawyer in.
    assert Browser("Firefox on the lawyer's desk").get(f"{bases['b']}{matter}").status_code == 302


def the_same_checkout_posted_to_both_servers_at_once_books_once(bases, seeded, app):
    """A double tap on Pay that the balancer sent to both servers: one payment, one deposit, the request paid once."""
    path = seeded["pay_path"]
    # The client's phone, as the balancer forwards it (PROXY_COUNT=1): its own address, so its posts are not
    # counted against the flood limit tested below.
    phone = {"X-Forwarded-For": "198.51.100.7"}
    browser = Browser("Safari on an iPhone")
    page = browser.get(f"{bases['balancer']}{path}", headers=phone)
    assert page.status_code == 200
    form = {
        "csrf_token": CSRF.search(page.text).group(1),
        "checkout": CHECKOUT.search(page.text).group(1),
        **card_details("1500.00"),
    }
    start, answered = threading.Barrier(2), {}

    def press_pay(server):
        tab = Browser("Safari on an iPhone")
        tab.cookies.update(browser.cookies)  # the same session, so the same CSRF token
        start.wait()
        answered[server] = tab.post(f"{bases[server]}{path}", data=form, headers=phone)

    threads = [threading.Thread(target=press_pay, args=(server,)) for server in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = {server: response.status_code for server, response in answered.items()}
    # Each answer is the receipt (303) or the page saying the request is paid (409); never an error.
    assert set(statuses.values()) <= {303, 409} and 303 in statuses.values(), statuses
    receipts = {response.headers["Location"] for response in answered.values() if response.status_code == 303}
    assert len(receipts) == 1, receipts
    receipt = browser.get(f"{bases['balancer']}{receipts.pop()}", headers=phone)
    assert receipt.status_code == 200 and "R-" in receipt.text
    with app.app_context():
        [payment] = db.session.scalars(select(Payment)).all()
        assert (payment.status, payment.amount_cents) == ("succeeded", PAID_CENTS)
        assert payment.receipt_number in receipt.text
        paid = db.session.get(TrustRequest, seeded["request"])
        assert (paid.status, paid.paid_cents) == ("paid", PAID_CENTS)
        deposits = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == "deposit")).all()
        assert len(deposits) == 1 and deposits[0].bank_account_id == payment.bank_account_id
        fees = db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.kind != "deposit"))
        assert fees == 1  # the card fee, once, from operating


def the_flood_limit_is_counted_once_across_both_servers(bases, seeded, store, prefix):
    """The pay form's 20 posts a minute per address count in Redis: the balancer alternates the servers, and
    after the 20th post from this address both servers refuse the next, through the balancer or directly."""
    path = seeded["pay_path"]
    browser = Browser("a script trying card numbers")
    csrf = CSRF.search(browser.get(f"{bases['balancer']}/auth/login").text).group(1)  # the session's token
    # An empty form to the link just paid: the page saying so (409), at no cost, but counted.
    posts = [browser.post(f"{bases['balancer']}{path}", data={"csrf_token": csrf}) for _ in range(20)]
    assert [post.status_code for post in posts] == [409] * 20
    assert Counter(served_by(post) for post in posts) == {"a": 10, "b": 10}
    refused = [browser.post(f"{bases['balancer']}{path}", data={"csrf_token": csrf}) for _ in range(2)]
    assert [post.status_code for post in refused] == [429, 429]
    assert {served_by(post) for post in refused} == {"a", "b"}
    for server in ("a", "b"):
        assert browser.post(f"{bases[server]}{path}", data={"csrf_token": csrf}).status_code == 429
    assert any(store.scan_iter(f"*{prefix}*"))  # counted in Redis, not in each process


def jobs_and_emails_are_done_once_by_two_workers(cluster, workers, app, mailbox, seeded):
    """Both workers ran from the start: the reminder job ran once (one reminder queued), and every email
    queued (statements, the reminder, the receipt and the lawyer's notice) arrived exactly once."""

    def all_sent():
        with app.app_context():
            waiting = db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(WAITING))
            )
            reminders = db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reminder")
            )
            db.session.remove()
            return waiting == 0 and reminders >= 1

    poll(all_sent, "the workers to send every email")
    Cluster.stop(*workers.values())  # nothing can be sent twice after this
    assert [process.returncode for process in workers.values()] == [0, 0]
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.subject, OutboxMessage.status)).all()
        attempts = set(db.session.scalars(select(OutboxMessage.attempts)))
        job = db.session.get(ScheduledJob, "reminders")
        reminded = db.session.get(TrustRequest, seeded["reminded"])
    kinds = Counter(kind for kind, _, _ in rows)
    assert kinds == {"receipt": STATEMENTS + 1, "reminder": 1, "lawyer_notice": 1}
    assert {status for _, _, status in rows} == {"sent"} and attempts == {1}
    assert Counter(m["Subject"] for m in mailbox.messages) == Counter(subject for _, subject, _ in rows)
    assert job.last_result == "Queued 1 reminder(s)." and job.next_run_at > utcnow()
    assert reminded.last_reminder_on is not None
    said = [cluster.log(name) for name in workers]
    assert all("started" in log for log in said)
    assert sum(log.count("reminders: Queued") for log in said) == 1  # one worker ran the job, the other never did
