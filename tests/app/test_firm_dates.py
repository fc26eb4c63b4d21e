"""Late in the firm's evening UTC has already turned the page: every date a person reads is the firm's own day."""

import csv
import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import dates
from tests.conftest import post
from tests.factories import PASSWORD, gen_user
from tests.invoices.steps import apply, invoice_for, retainer
from tests.reconcile.steps import compact, ofx
from tests.requests.steps import gen_firm, gen_request, pay, pay_path, send, text
from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings, JournalEntry, User
from trustweb.models.firm import DEFAULTS
from trustweb.refusals import ServiceError
from trustweb.services import statements

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
DEFAULT_VALUE = re.compile(r'id="issued_on"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="issued_on"')


@pytest.fixture
def app(mailing_app):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    return mailing_app


def half_past_eleven_at_night():
    """23:30 yesterday in Los Angeles: 06:30 or 07:30 of the next day in UTC, whatever the season."""
    return datetime.combine(dates.days_ago(1), time(23, 30), LOS_ANGELES)


def firm_in(zone):
    db.session.add(FirmSettings(id=1, **{**DEFAULTS, "timezone": zone}))
    db.session.commit()


def issue_date_offered(client, url):
    """The issue date a new request or invoice form fills in."""
    match = DEFAULT_VALUE.search(text(client.get(url)))
    assert match, f"no issue date on {url}"
    return match.group(1) or match.group(2)


def long_date(day):
    return f"{day:%B} {day.day}, {day.year}"


def test_at_half_past_eleven_at_night_every_date_shown_is_the_firms_day(app, client, auth, mailbox):
    evening = half_past_eleven_at_night()
    day = evening.date()
    firms_day, utc_day = dates.iso(day), dates.iso(day + timedelta(days=1))
    assert evening.astimezone(ZoneInfo("UTC")).date() == day + timedelta(days=1)
    # Ticking: the few seconds the test takes pass, midnight does not.
    with time_machine.travel(evening):
        with app.app_context():
            firm_in("America/Los_Angeles")
            setup = gen_firm()
            admin = gen_user("admin", email="amelia@firm.example.com", name="Amelia Hartwell")
            assert dates.today() == day
        assert auth.login(admin.email, PASSWORD).status_code == 303

        # The forms offer the firm's today as the issue date.
        assert issue_date_offered(client, "/bills/requests/new") == firms_day
        assert issue_date_offered(client, "/bills/invoices/new") == firms_day

        # A trust request made and emailed tonight, and the client pays it at once.
        with app.app_context():
            request_id = gen_request(setup, by=admin.id, amount_cents=100_000)
            send(request_id, admin.id)
        response, _ = pay(app.test_client(), pay_path(mailbox), "1,000.00")
        assert response.status_code == 303, text(response)
        receipt_page = text(app.test_client().get(response.headers["Location"]))
        assert f"<dd>{long_date(day)}</dd>" in receipt_page
        [receipt] = mailbox.to("ada.receipts@example.com")
        assert f"Date:         {long_date(day)}" in mailbox.text(receipt)
        assert long_date(day) in mailbox.html(receipt)

        page = text(client.get(f"/bills/requests/{request_id}"))
        assert f"Amelia Hartwell on {firms_day}" in page
        assert re.search(rf"<dt>Sent</dt><dd>{firms_day} 23:3\d", page)
        assert f"<dt>Issued</dt><dd>{firms_day}</dd>" in page
        assert f"Link of {firms_day}" in page
        assert re.search(rf"<tr><td[^>]*>{firms_day} 23:3\d</td><td[^>]*>Trust request", page)  # the emails sent
        assert utc_day not in page

        # Trust money applied to an invoice tonight: paid from trust on the firm's day, as its entry is dated.
        with app.app_context():
            retainer(setup, 200_000)
            invoice_id = invoice_for(setup, 100, 50_000)
            apply(setup, invoice_id, 50_000)
            deposit_id = db.session.scalars(db.select(JournalEntry.id).order_by(JournalEntry.id)).first()
        page = text(client.get(f"/bills/invoices/{invoice_id}"))
        assert f"<dt>Issued</dt><dd>{firms_day}</dd>" in page
        assert f"<li>{firms_day}: $500.00" in page
        assert utc_day not in page
        page = text(client.get(f"/trust/entries/{deposit_id}"))
        assert re.search(rf"<dt>Recorded</dt><dd>{firms_day} 23:3\d", page)
        assert utc_day not in page

        # Last month's statement imported and signed off tonight; the same file again is refused, imported "today".
        statement_file = ofx([], start=compact(dates.month_start(1)), end=compact(dates.month_end(1)))
        with app.app_context():
            account, user = db.session.get(BankAccount, setup.account), db.session.get(User, admin.id)
            statement_id = statements.import_statement(
                account, source="ofx", filename="statement.ofx", data=statement_file, user=user
            )[0].id
            with pytest.raises(ServiceError, match=f"already imported on {firms_day} "):
                statements.import_statement(account, source="ofx", filename="again.ofx", data=statement_file, user=user)
        assert post(client, f"/reconciliations/statements/{statement_id}/sign").status_code == 303
        assert f"Amelia Hartwell · {firms_day}" in text(client.get("/reconciliations/"))
        assert f"Amelia Hartwell on {firms_day}" in text(client.get(f"/reconciliations/statements/{statement_id}"))

        # The users page: the last sign-in, at the firm's clock.
        page = text(client.get("/settings/users"))
        assert re.search(rf"<td[^>]*>{firms_day} 23:3\d</td>", page)
        assert utc_day not in page

        # A report printed and exported tonight says when, in the firm's time.
        page = text(client.get(f"/reports/journal?account={setup.account}"))
        assert re.search(rf"Generated {firms_day} 23:3\d P[SD]T", page)
        export = client.get(f"/reports/journal?account={setup.account}&format=csv").get_data().decode("utf-8-sig")
        preamble = {row[0]: row[1] for row in csv.reader(io.StringIO(export)) if len(row) == 2}
        assert re.fullmatch(rf"{firms_day} 23:3\d P[SD]T", preamble["Generated at"])
