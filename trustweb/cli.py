"""The `flask --app wsgi trustweb ...` commands."""

import click
from flask.cli import AppGroup

from trustweb.models import Role
from trustweb.refusals import ServiceError

trustweb_cli = AppGroup("trustweb", help="TrustWeb administration commands.")


@trustweb_cli.command("create-user")
@click.argument("email")
# Values, not members: click offers an Enum's member names (ADMIN) as the choices.
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.STAFF.value, show_default=True)
@click.option("--name", default=None, help="Full name (defaults to the part of the email before @).")
@click.password_option(prompt="Password", help="Asked for when not given.")
def create_user_command(email, role, name, password):
    """Create a user who can sign in at once."""
    from trustweb.services.users import create_user

    try:
        user = create_user(email, name or email.split("@")[0], role, password)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email}.")


@trustweb_cli.command("demo")
@click.option("--first-run", is_flag=True, help="Only load into a database with no users yet; never an error.")
def demo_command(first_run):
    """Fill an empty database with a small demo firm (running it again changes nothing)."""
    from trustweb.demo import (
        DEMO_PASSWORD,
        DEMO_USERS,
        database_is_empty,
        demo_pay_links,
        demo_portal_link,
        demo_present,
        load_demo,
    )

    if first_run and not database_is_empty() and not demo_present():
        click.echo("The database already has users; no demo data loaded.")
        return
    try:
        created = load_demo()
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    click.echo("Demo data loaded." if created else "Demo data is already present; nothing changed.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")

    for email, _name, role in DEMO_USERS:
        click.echo(f"  {role:<11} {email}")
    for payable, url in demo_pay_links():
        click.echo(f"Pay {payable.number} as the client (test card 4242 4242 4242 4242, any future expiry):")
        click.echo(f"  {url}")
    portal = demo_portal_link()
    if portal is not None:
        contact, link = portal
        click.echo(f"Sign in to the client portal as {contact.name} (the link works once, for 15 minutes):")
        click.echo(f"  {link}")


@trustweb_cli.command("check-books")
def check_books_command():
    """Re-derive every balance from the journal and check that the books are sound."""
    from trustweb.services.books import check_books, shortfalls

    problems = check_books()
    owed = set(shortfalls())
    for item in [p for p in problems if p in owed]:
        click.echo(f"To do: {item}")
    problems = [p for p in problems if p not in owed]
    if problems:
        click.echo(f"The books have {len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo(
        "The books are sound: every entry balances, no ledger is overdrawn, and every balance matches its lines."
    )


@trustweb_cli.command("audit-verify")
def audit_verify_command():
    """Check the audit trail's hash chain; name the first event that is missing or altered."""
    from trustweb.services.audit import seal_pending
    from trustweb.services.audit_trail import verified_chain

    # Events not yet chained are checked against their own digest by verify(); sealed first (as the worker would),
    # the whole trail is checked as one chain.
    sealed = seal_pending()
    if sealed:
        click.echo(f"Sealed {sealed} event{'s' if sealed != 1 else ''} that were waiting for the worker.")
    problems, events = verified_chain()  # read without the write lock: payments go on meanwhile
    if problems:
        click.echo(f"The audit trail is broken: {problems[0]}", err=True)
        for problem in problems[1:]:
            click.echo(f"  also: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"The audit trail is intact: {events} events, chain verified.")


@trustweb_cli.command("worker")
@click.option("--poll", type=float, default=None, help="Seconds between looks at the outbox (default 2).")
def worker_command(poll):
    """Deliver the outbox and run reminders, scheduled payments from trust and clearing; runs until stopped."""
    import logging
    import signal

    from flask import current_app

    from trustweb.worker import AnotherWorker, Worker

    app = current_app._get_current_object()
    app.logger.setLevel(logging.INFO)  # its start, stop and each job's result belong in the service's log
    worker = Worker(app, poll=poll)

    def stop(signum, frame):
        if worker.stopping.is_set():
            raise SystemExit(1)  # asked twice: stop now
        click.echo("Stopping after the current email (Ctrl+C again to stop at once).", err=True)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"TrustWeb worker {worker.name} running (Ctrl+C stops it).")
    try:
        worker.run()
    except AnotherWorker as error:
        raise click.ClickException(str(error)) from error


@trustweb_cli.command("audit-seal")
def audit_seal_command():
    """Seal into the audit chain the events that waited (what the worker does each pass; for cron without one)."""
    from trustweb.services.audit import seal_pending

    sealed = seal_pending()
    click.echo(f"Sealed {sealed} audit event{'' if sealed == 1 else 's'}.")


@trustweb_cli.command("send-mail")
@click.option("--limit", default=500, show_default=True, help="At most this many emails in one run.")
def send_mail_command(limit):
    """Send the emails whose time has come (for cron, when no worker runs); failures are retried later."""
    from trustweb.services.delivery import Outcome, deliver_due
    from trustweb.services.jobs import beat
    from trustweb.services.mail import mail_is_set_up

    if not mail_is_set_up():
        raise click.ClickException("Mail is not set up (TRUSTWEB_MAIL_SERVER); the emails stay in the outbox.")
    beat("send-mail")
    tally = deliver_due(limit=limit)
    click.echo(tally.summary())
    if tally[Outcome.RETRY] or tally[Outcome.FAILED]:
        raise SystemExit(1)


@trustweb_cli.command("remind")
def remind_command():
    """Queue reminders for trust requests coming due or overdue, under the firm's settings (for cron, daily)."""
    from trustweb.services.requests import queue_reminders

    queued, refused = queue_reminders()
    click.echo(f"Queued {queued} reminder(s); the worker (or send-mail) sends them.")
    for reason in refused:
        click.echo(f"  not sent: {reason}", err=True)


@trustweb_cli.command("clear-payments")
def clear_payments_command():
    """Clear bank payments (ACH) whose hold has passed, so their money can be paid out (for cron, daily)."""
    from trustweb.services.checkout import clear_due_payments

    click.echo(f"Cleared {clear_due_payments()} bank payment(s) whose hold has passed.")


@trustweb_cli.command("run-scheduled")
def run_scheduled_command():
    """Make the transfers from trust to invoices whose notice period has passed (for cron, daily)."""
    from trustweb.services.invoice_trust import run_scheduled

    made, refused = run_scheduled()
    click.echo(f"Made {made} scheduled payment(s) from trust; the worker (or send-mail) sends the notices.")
    for reason in refused:
        click.echo(f"  not made: {reason}", err=True)
