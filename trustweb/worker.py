"""The worker (`flask --app wsgi trustweb worker`): the one place TrustWeb talks to the mail server and runs
what would otherwise need cron.

It loops: run the jobs whose time has come (services/jobs.py), deliver the
emails that are due (services/delivery.py), and when there was nothing to do,
wait WORKER_POLL_SECONDS. SIGTERM or Ctrl+C lets the current email finish and
stops. An error (the database restarting, say) is logged and the loop goes
on after a pause, so a supervisor need not restart it.

On PostgreSQL any number of workers may run (on one box or several): every
email and every job is claimed before it is worked on. On SQLite one worker
runs at a time, held by a lock file beside the database.
"""

import fcntl
import os
import socket
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from trustweb.extensions import db
from trustweb.services import audit, delivery, jobs, mail

ERROR_PAUSE = 10  # seconds to wait after an unexpected error before trying again


class AnotherWorker(Exception):
    """A worker already runs on this SQLite database."""


class Worker:
    def __init__(self, app: Flask, poll: float | None = None, name: str | None = None, batch: int = 50):
        self.app = app
        self.poll = poll if poll is not None else app.config["WORKER_POLL_SECONDS"]
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Loop until stopped."""
        with self.app.app_context(), single_worker_lock():
            logger = self.app.logger
            logger.info("worker %s started", self.name)
            if not mail.mail_is_set_up():
                logger.warning("mail is not set up (TRUSTWEB_MAIL_SERVER): emails stay in the outbox")
            while not self.stopping.is_set():
                try:
                    busy = self.run_once()
                except Exception:  # noqa: BLE001 - the worker outlives a database restart or a bad row
                    logger.exception("worker %s: an error; trying again in %s s", self.name, ERROR_PAUSE)
                    db.session.rollback()
                    self.stopping.wait(ERROR_PAUSE)
                    continue
                finally:
                    db.session.remove()
                if not busy:
                    self.stopping.wait(self.poll)
            logger.info("worker %s stopped", self.name)

    def run_once(self) -> bool:
        """One pass: audit events to seal, due jobs, then due emails. True when a full batch went (more may be
        waiting)."""
        audit.seal_pending()
        jobs.run_due(self.name)
        tally = delivery.deliver_due(limit=self.batch, worker=self.name, stopping=self.stopping.is_set)
        return tally.handled >= self.batch


class single_worker_lock:
    """On SQLite, an exclusive lock on a file beside the database for as long as the worker runs."""

    def __init__(self):
        self.file = None

    def __enter__(self):
        url = make_url(str(db.engine.url))
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return self
        path = Path(url.database).with_name(Path(url.database).name + ".worker-lock")
        self.file = open(path, "a+")  # noqa: SIM115 - held open for the worker's life
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise AnotherWorker(
                f"Another worker is already running on {url.database}; with SQLite one worker runs at a time."
            ) from None
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
        return False
