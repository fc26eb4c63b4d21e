"""The worker's recurring jobs: the day's reminders at the firm's morning; trust applications, clearing, evergreen
top-ups and payment plans.

Each job is a row of scheduled_job saying when it runs next. A worker takes a
due job with one conditional UPDATE (due, and not held, or held longer than
STALE_MINUTES by a worker that died), runs it in its own transactions, then
sets when it runs next. Two workers never run a job at once, and the jobs
themselves are idempotent (a reminder goes at most once a day per request, a
scheduled application or a clearance happens once), so a job run again after
a crash does nothing twice. The cron commands run the same service functions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select, update

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.models import FirmSettings, ScheduledJob
from trustweb.models.base import utcnow
from trustweb.models.firm import insert_ignore

WORKER_LATE_MINUTES = 5  # the heartbeat runs each minute: this long without one, no worker is running
STALE_MINUTES = 10  # the jobs take seconds; a claim this old belongs to a worker that died
RETRY_MINUTES = 5  # a job that failed (the database away, say) is tried again this soon


def run_reminders() -> str:
    from trustweb.services.requests import queue_reminders

    queued, refused = queue_reminders()
    for reason in refused:
        current_app.logger.warning("reminder not sent: %s", reason)
    return f"Queued {queued} reminder(s)" + (f"; {len(refused)} refused" if refused else "") + "."


def run_trust_applications() -> str:
    from trustweb.services.invoice_trust import run_scheduled

    made, refused = run_scheduled()
    for reason in refused:
        current_app.logger.warning("scheduled payment from trust not made: %s", reason)
    return f"Made {made} scheduled payment(s) from trust" + (f"; {len(refused)} refused" if refused else "") + "."


def run_clearing() -> str:
    from trustweb.services.checkout import clear_due_payments

    return f"Cleared {clear_due_payments()} bank payment(s) whose hold has passed."


def run_replenishment() -> str:
    from trustweb.services.replenishment import replenish_all

    done, refused = replenish_all()
    for reason in refused:
        current_app.logger.warning("evergreen top-up not asked for: %s", reason)
    said = (
        "; ".join(done[:3]) + (f" (and {len(done) - 3} more)" if len(done) > 3 else "") if done else "Nothing to ask."
    )
    return said + (f" {len(refused)} refused: {refused[0]}" if refused else "")


def run_plans() -> str:
    from trustweb.services.plan_runs import run_due

    done, refused = run_due()
    for reason in refused:
        current_app.logger.warning("payment plan instalment not charged: %s", reason)
    said = "; ".join(done[:3]) + (f" (and {len(done) - 3} more)" if len(done) > 3 else "") if done else "Nothing due."
    return said + (f" {len(refused)} refused: {refused[0]}" if refused else "")


def run_book_checks() -> str:
    """The nightly checks: every balance re-derived from the journal, and the audit chain verified."""
    from trustweb.services.audit import verify
    from trustweb.services.books import check_books, shortfalls

    owed = set(shortfalls())
    problems = [p for p in check_books() if p not in owed] + verify()
    for problem in problems:
        current_app.logger.error("the books: %s", problem)
    if problems:
        return f"{len(problems)} problem(s): {problems[0]}" + (" (and more in the log)" if len(problems) > 1 else "")
    return "The books are sound and the audit trail is intact."


def heartbeat() -> str:
    return "The worker is running."


def next_at(now: datetime, hour: int, minute: int = 0) -> datetime:
    """The next hour:minute on the firm's clock (its time zone) after `now`."""
    zone = ZoneInfo(FirmSettings.get().timezone)
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), time(hour, minute), zone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), zone)
    return moment


def next_morning(now: datetime) -> datetime:
    """The next firm's-morning hour (Settings) after `now`: when the day's reminders go."""
    return next_at(now, FirmSettings.get().reminder_hour)


def next_night(now: datetime) -> datetime:
    """Half past two on the firm's clock: the nightly checks, while nobody works."""
    return next_at(now, 2, 30)


def every(minutes: int) -> Callable[[datetime], datetime]:
    return lambda now: now + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Job:
    run: Callable[[], str]
    next_after: Callable[[datetime], datetime]  # when it runs next, from the end of a run
    label: str  # what the Outbox page calls it
    at_once: bool = True  # met for the first time, it runs now (else at its first next_after)


JOBS: dict[str, Job] = {
    "reminders": Job(run_reminders, next_morning, "Reminders, each morning"),
    "trust-applications": Job(run_trust_applications, every(15), "Scheduled payments from trust"),
    "clear-payments": Job(run_clearing, every(15), "Clearing of bank payments"),
    "evergreen": Job(run_replenishment, every(5), "Evergreen top-ups asked for or charged, changed or withdrawn"),
    "plans": Job(run_plans, every(15), "Payment plans' instalments charged"),
    "check-books": Job(run_book_checks, next_night, "The books and the audit trail checked, each night", False),
    "heartbeat": Job(heartbeat, every(1), "The worker's sign of life"),
}


def first_run(name: str, now: datetime) -> datetime:
    """When a job met for the first time runs: now, or at its hour; the reminders today if their hour has passed
    (a worker started late still reminds that day)."""
    job = JOBS[name]
    if name == "reminders":
        morning = next_morning(now)
        yesterday_morning = morning - timedelta(days=1)
        return yesterday_morning if yesterday_morning.date() == now.astimezone(morning.tzinfo).date() else morning
    return now if job.at_once else job.next_after(now)


def reschedule_reminders() -> None:
    """The firm changed its reminder hour or time zone: the next run follows at once, not after tomorrow's."""
    db.session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == "reminders")
        .values(next_run_at=first_run("reminders", utcnow()))
    )


def claim(name: str, worker: str, now: datetime) -> bool:
    """Take a due job for this worker; False when it is not due or another worker holds it."""
    db.session.execute(insert_ignore(ScheduledJob).values(name=name, next_run_at=first_run(name, now)))
    taken = rows_updated(
        update(ScheduledJob)
        .where(
            ScheduledJob.name == name,
            ScheduledJob.next_run_at <= now,
            or_(ScheduledJob.claimed_at.is_(None), ScheduledJob.claimed_at < now - timedelta(minutes=STALE_MINUTES)),
        )
        .values(claimed_at=now, claimed_by=worker[:100], last_started_at=now)
    )
    db.session.commit()
    return taken == 1


def run_due(worker: str) -> list[str]:
    """Run every job whose time has come; what each said. A job that fails is tried again soon; the rest go on."""
    said = []
    for name, job in JOBS.items():
        try:
            if not claim(name, worker, utcnow()):
                continue
        except Exception:  # noqa: BLE001 - one job's trouble (a bad setting, say) must not stop the others
            db.session.rollback()
            current_app.logger.exception("job %s could not be claimed", name)
            continue
        try:
            result = job.run()
            next_run = job.next_after(utcnow())
        except Exception as error:  # noqa: BLE001 - a failed job is logged and tried again soon; the worker goes on
            db.session.rollback()
            current_app.logger.exception("job %s failed", name)
            result = f"Failed: {type(error).__name__}: {error}"[:500]
            next_run = utcnow() + timedelta(minutes=RETRY_MINUTES)
        release(name, worker, next_run, result)
        if name != "heartbeat":
            current_app.logger.info("%s: %s", name, result)
        said.append(f"{name}: {result}")
    return said


def release(name: str, worker: str, next_run: datetime, result: str) -> None:
    """The job is done: when it runs next and what it said (only if this worker still holds it)."""
    db.session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.claimed_by == worker[:100])
        .values(next_run_at=next_run, claimed_at=None, claimed_by=None, last_finished_at=utcnow(), last_result=result)
    )
    db.session.commit()


def last_seen() -> datetime | None:
    """When a worker (or the send-mail command) last showed a sign of life (None: never)."""
    job = db.session.get(ScheduledJob, "heartbeat")
    return job.last_finished_at if job is not None else None


def worker_is_running() -> bool:
    """Whether a worker (or send-mail from cron) checked in within WORKER_LATE_MINUTES."""
    seen = last_seen()
    return seen is not None and seen > utcnow() - timedelta(minutes=WORKER_LATE_MINUTES)


def beat(who: str) -> None:
    """A sign of life from a sender that is not the worker (the send-mail command run from cron)."""
    db.session.execute(insert_ignore(ScheduledJob).values(name="heartbeat", next_run_at=utcnow()))
    db.session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == "heartbeat")
        .values(last_finished_at=utcnow(), last_result=f"{who} ran.")
    )
    db.session.commit()


def schedule() -> list[tuple[Job, ScheduledJob | None]]:
    """Each job with its row (None before a worker first met it), for the Outbox page."""
    rows = {row.name: row for row in db.session.scalars(select(ScheduledJob))}
    return [(job, rows.get(name)) for name, job in JOBS.items()]
