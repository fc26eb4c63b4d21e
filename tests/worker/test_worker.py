"""The worker: the day's reminders at the firm's morning, each job and each email done once however many workers
run, one worker on SQLite, and the command that starts and stops it."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from tests import dates
from tests.conftest import ON_POSTGRES, built_app
from tests.requests.steps import gen_firm, gen_request
from trustweb.extensions import db
from trustweb.models import FirmSettings, OutboxMessage, ScheduledJob, TrustRequest, User
from trustweb.models.base import utcnow
from trustweb.models.firm import DEFAULTS
from trustweb.services import jobs, mail
from trustweb.services import requests as request_service
from trustweb.services.delivery import Outcome, deliver_due
from trustweb.worker import AnotherWorker, Worker

CHICAGO = ZoneInfo("America/Chicago")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(database, pg_schema, mailbox):
    with built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config()) as app:
        yield app


def firm_in_chicago(reminder_hour=8):
    db.session.add(FirmSettings(id=1, **{**DEFAULTS, "timezone": "America/Chicago", "reminder_hour": reminder_hour}))
    db.session.commit()


def at(day, hour, minute=0):
    """A moment on the firm's clock (Chicago)."""
    return datetime.combine(day, clock(hour, minute), CHICAGO)


def request_sent_due_in(days):
    """A firm in Chicago whose lawyer sent a request due in this many days."""
    firm_in_chicago(reminder_hour=8)
    setup = gen_firm()
    request_id = gen_request(setup, due_on=dates.days_ahead(days))
    request_service.send_request(db.session.get(TrustRequest, request_id), db.session.get(User, setup.lawyer))


def reminders_queued():
    return db.session.scalar(select(func.count()).where(OutboxMessage.kind == "reminder"))


def test_the_days_reminders_go_once_at_the_firms_morning(app):
    """A request falls due tomorrow; the worker runs all day and the next: one reminder, at 8 on the firm's clock."""
    day = dates.days_ahead(0)
    with app.app_context():
        request_sent_due_in(1)
        said = {}
        for moment in (at(day, 6), at(day, 7, 59), at(day, 8, 1), at(day, 12), at(day, 23, 59), at(day, 23, 59)):
            with time_machine.travel(moment, tick=False):
                said[moment] = jobs.run_due("the worker")
        assert not any("reminders" in line for line in said[at(day, 6)] + said[at(day, 7, 59)])
        assert "reminders: Queued 1 reminder(s)." in said[at(day, 8, 1)]
        assert not any("reminders" in line for line in said[at(day, 12)] + said[at(day, 23, 59)])
        assert reminders_queued() == 1
        job = db.session.get(ScheduledJob, "reminders")
        assert job.next_run_at.astimezone(CHICAGO) == at(day + timedelta(days=1), 8)
        assert job.claimed_at is None and job.last_result == "Queued 1 reminder(s)."


def test_a_worker_started_after_the_morning_still_reminds_that_day(app):
    day = dates.days_ahead(0)
    with app.app_context():
        request_sent_due_in(2)
        with time_machine.travel(at(day, 15), tick=False):
            assert "reminders: Queued 1 reminder(s)." in jobs.run_due("late worker")


def test_a_failing_job_is_tried_again_soon_and_the_worker_goes_on(app):
    """A job that raises (here: a firm time zone the system does not know) is logged and tried again in minutes."""
    with app.app_context():
        firm_in_chicago()
        gen_firm()
        settings = db.session.get(FirmSettings, 1)
        settings.timezone = "Mars/Olympus_Mons"
        db.session.commit()
        said = jobs.run_due("the worker")
        assert any(line.startswith("trust-applications: Failed:") for line in said)
        job = db.session.get(ScheduledJob, "trust-applications")
        assert job.claimed_at is None
        assert timedelta(minutes=4) < job.next_run_at - job.last_finished_at <= timedelta(minutes=5)
        assert "heartbeat: The worker is running." in said  # the others ran


def test_two_workers_never_run_one_job_at_once(app):
    with app.app_context():
        firm_in_chicago()
        moment = utcnow()
        assert jobs.claim("clear-payments", "worker A", moment) is True
        assert jobs.claim("clear-payments", "worker B", moment) is False
        # Worker A died holding it: after STALE_MINUTES another takes it over.
        later = moment + timedelta(minutes=jobs.STALE_MINUTES + 1)
        assert jobs.claim("clear-payments", "worker B", later) is True


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent workers need PostgreSQL")
def test_two_workers_on_postgresql_deliver_each_email_once(app, mailbox):
    """Sixty emails wait; two workers start together on two connections: every email arrives exactly once."""
    with app.app_context():
        firm_in_chicago()
        for n in range(60):
            mail.queue("receipt", [f"client{n:02d}@example.com"], f"Receipt {n:02d}", "Thank you.")
        db.session.commit()
    workers = [Worker(app, poll=0.02, name=f"worker {n}", batch=5) for n in range(2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(mailbox.messages) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # anything sent twice would arrive now
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=30)
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert subjects == [f"Receipt {n:02d}" for n in range(60)]
    with app.app_context():
        statuses = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
        assert set(statuses) == {("sent", 1)}
        assert db.session.get(ScheduledJob, "heartbeat").last_finished_at is not None


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent claims need PostgreSQL")
def test_concurrent_claims_on_postgresql_split_the_outbox_without_overlap(app):
    from trustweb.services.delivery import claim_due

    with app.app_context():
        for n in range(40):
            mail.queue("receipt", [f"c{n}@example.com"], f"Receipt {n}", "Thank you.")
        db.session.commit()
    claimed, barrier = {}, threading.Barrier(4)

    def claim(name):
        with app.app_context():
            barrier.wait()
            claimed[name] = claim_due(15, name)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == 40


@pytest.mark.skipif(ON_POSTGRES, reason="the lock file is SQLite's")
def test_on_sqlite_a_second_worker_is_refused_while_one_runs(app):
    first = Worker(app, poll=0.05, name="first")
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        with app.app_context():
            deadline = time.monotonic() + 10
            while db.session.get(ScheduledJob, "heartbeat") is None:
                assert time.monotonic() < deadline
                # Out of the transaction before waiting: outside a request it holds SQLite's write lock, and the
                # worker would starve for it.
                db.session.rollback()
                time.sleep(0.05)
        with pytest.raises(AnotherWorker, match="one worker runs at a time"):
            Worker(app, poll=0.05, name="second").run()
    finally:
        first.stop()
        thread.join(timeout=10)
    # The first one gone, the next may start.
    second = Worker(app, poll=0.05, name="second")
    threading.Timer(0.3, second.stop).start()
    second.run()


@pytest.mark.skipif(ON_POSTGRES, reason="the command is started on the test's SQLite file")
def test_the_worker_command_delivers_and_stops_on_sigterm(app, mailbox, database):
    with app.app_context():
        firm_in_chicago()
        mail.queue("receipt", ["ada@example.com"], "Receipt R-000001", "Thank you.")
        db.session.commit()
    environment = {
        **os.environ,
        "TRUSTWEB_DATABASE_URL": database[0],
        "TRUSTWEB_SECRET_KEY": "test",
        "TRUSTWEB_MAIL_SERVER": "127.0.0.1",
        "TRUSTWEB_MAIL_PORT": str(mailbox.port),
        "TRUSTWEB_WORKER_POLL_SECONDS": "0.1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "trustweb", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not mailbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [email] = mailbox.messages
        assert email["Subject"] == "Receipt R-000001"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "Stopping after the current email" in output
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
        assert deliver_due().handled == 0


def test_a_stop_is_heard_between_two_emails(app, mailbox):
    """Ctrl+C or SIGTERM: the email being sent finishes, the next is not started (it stays queued)."""
    with app.app_context():
        for n in range(3):
            mail.queue("receipt", [f"client{n}@example.com"], f"Receipt {n}", "Thank you.")
        db.session.commit()
        tally = deliver_due(stopping=lambda: len(mailbox.messages) >= 1)
        assert tally.handled == 1
        assert db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all() == [
            "sent",
            "queued",
            "queued",
        ]


def test_a_claim_takes_as_many_emails_as_asked_and_no_more(app):
    """On PostgreSQL a `LIMIT ... SKIP LOCKED` subquery run once per row would take every waiting email at once."""
    from trustweb.services.delivery import claim_due

    with app.app_context():
        for n in range(5):
            mail.queue("receipt", [f"c{n}@example.com"], f"Receipt {n}", "Thank you.")
        db.session.commit()
        assert len(claim_due(1, "w")) == 1
        assert len(claim_due(2, "w")) == 2
        assert db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all() == [
            "sending",
            "sending",
            "sending",
            "queued",
            "queued",
        ]


def test_an_email_the_server_took_is_not_sent_again_when_its_goodbye_stalls(app, mailbox):
    """The server takes the message, then says nothing after QUIT: the email went, and goes once."""
    app.config["MAIL_TIMEOUT"] = 1
    mailbox.stall_on_quit = 2
    with app.app_context():
        mail.queue("receipt", ["ada@example.com"], "Receipt R-000001", "Thank you.")
        db.session.commit()
        assert deliver_due().counts[Outcome.SENT] == 1
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
    assert len(mailbox.messages) == 1
    threading.Event().wait(1.5)  # the server's silent goodbye ends before the next test uses it


def test_an_email_that_cannot_be_written_is_given_up_at_once_with_the_reason(app, mailbox):
    with app.app_context():
        mail.queue("receipt", ["ada@example.com"], "Receipt\nBcc: spy@evil.example", "Thank you.")
        db.session.commit()
        assert deliver_due().counts[Outcome.FAILED] == 1
        message = db.session.scalar(select(OutboxMessage))
        assert (message.status, message.attempts) == ("failed", 1)
        assert message.last_error == (
            "Given up after 1 try: a header of the email holds a line break, which would let it add headers of its own"
        )
    assert mailbox.messages == []


def test_the_books_are_checked_each_night_not_when_the_worker_starts(app):
    day = dates.days_ahead(0)
    with app.app_context():
        firm_in_chicago()
        gen_firm()
        with time_machine.travel(at(day, 15), tick=False):
            assert not any(line.startswith("check-books") for line in jobs.run_due("w"))
        with time_machine.travel(at(day + timedelta(days=1), 2, 31), tick=False):
            said = jobs.run_due("w")
        assert "check-books: The books are sound and the audit trail is intact." in said
        job = db.session.get(ScheduledJob, "check-books")
        assert job.next_run_at.astimezone(CHICAGO) == at(day + timedelta(days=2), 2, 30)


def test_a_new_reminder_hour_takes_effect_the_same_day(app, client, auth):
    """Reminders had run at 8; the firm moves them to 17: the next run is today at 17, not tomorrow."""
    from tests.conftest import post
    from tests.factories import gen_user

    day = dates.days_ahead(0)
    with app.app_context():
        firm_in_chicago(reminder_hour=8)
        admin = gen_user("admin")
        with time_machine.travel(at(day, 9), tick=False):
            jobs.run_due("w")
        assert db.session.get(ScheduledJob, "reminders").next_run_at.astimezone(CHICAGO) == at(day + timedelta(1), 8)
    form = {
        **{key: str(value) for key, value in DEFAULTS.items() if not isinstance(value, bool)},
        "timezone": "America/Chicago",
        "card_fee_percent": "2.9",
        "card_fee_fixed": "0.30",
        "reminder_hour": "17",
    }
    # Signed in at the moment the form is posted: a session begun at the real clock's time, later than 10:00 in
    # Chicago on an afternoon run, would be one from the future at 10:00 and refused.
    with time_machine.travel(at(day, 10), tick=False):
        auth.login_as(admin)
        assert post(client, "/settings/", form).status_code == 303
    with app.app_context():
        assert db.session.get(ScheduledJob, "reminders").next_run_at.astimezone(CHICAGO) == at(day, 17)


def test_send_mail_from_cron_counts_as_a_sign_of_life(app, runner):
    with app.app_context():
        assert jobs.last_seen() is None and not jobs.worker_is_running()
    assert runner.invoke(args=["trustweb", "send-mail"]).exit_code == 0
    with app.app_context():
        assert jobs.worker_is_running()
        assert mail.when_it_goes() == "the worker sends it within seconds"
