"""The invoice form filled in all day: lines added and removed in place (htmx, and without script), a running
total worked out on the server in cents, line dates starting at the firm's today, and one date format in and out."""

import re

import pytest
from sqlalchemy import select

from tests.conftest import post
from tests.dates import days_ago, iso
from tests.invoices.test_pages import firm as billed_firm
from tests.invoices.test_pages import line
from trustweb.extensions import db
from trustweb.models import Invoice
from trustweb.services.trust import firm_today

HTMX = {"HX-Request": "true"}
ROWS = re.compile(r'name="lines-(\d+)-description"')


firm = billed_firm  # the lawyer signed in, Ada Archer's matter with $5,000 in trust


@pytest.fixture
def today(app):
    with app.app_context():
        return firm_today()


def form(firm, *lines, **fields):
    data = {"matter_id": str(firm.matter_a1), "issued_on": iso(days_ago(1)), "due_on": "", "notes": "", **fields}
    for n, row in enumerate(lines):
        data.update(row if isinstance(row, dict) else line(n))
    return data


def test_a_new_invoice_starts_with_one_line_dated_today(app, client, firm, today):
    page = client.get(f"/bills/invoices/new?matter_id={firm.matter_a1}").get_data(as_text=True)
    assert ROWS.findall(page) == ["0"]
    assert f'name="lines-0-line_date" type="date" value="{today.isoformat()}"' in page
    assert '<table class="list lines cards"' in page and 'data-label="Hours or quantity"' in page
    assert "Total: <strong>$0.00</strong>" in page


def test_add_line_with_htmx_returns_the_lines_with_one_more_and_saves_nothing(app, client, firm, today):
    data = form(firm, line(0, "Title review", "2.5", "300.00"), action="add")
    response = post(client, "/bills/invoices/new", data, headers=HTMX)
    lines = response.get_data(as_text=True)
    assert response.status_code == 200 and lines.lstrip().startswith('<div id="invoice-lines">')
    assert ROWS.findall(lines) == ["0", "1"]
    assert 'value="Title review"' in lines and 'value="2.5"' in lines  # what was typed is kept
    assert f'name="lines-1-line_date" type="date" value="{today.isoformat()}"' in lines
    [added] = re.findall(r'<input[^>]*name="lines-1-description"[^>]*>', lines)
    assert "autofocus" in added  # the new line's description is where the lawyer types next
    assert "Total: <strong>$750.00</strong>" in lines
    with app.app_context():
        assert db.session.scalar(select(Invoice)) is None


def test_remove_takes_out_that_line_only(app, client, firm):
    data = form(
        firm,
        line(0, "Title review", "2.5", "300.00"),
        line(1, "Courier", "1", "40.00", kind="expense"),
        line(2, "Recording fee", "1", "85.00", kind="expense"),
        action="remove-1",
    )
    lines = post(client, "/bills/invoices/new", data, headers=HTMX).get_data(as_text=True)
    assert "Courier" not in lines and "Title review" in lines and "Recording fee" in lines
    assert "Total: <strong>$835.00</strong>" in lines
    # The last line removed leaves one empty line to fill in.
    lines = post(
        client, "/bills/invoices/new", form(firm, line(0, "Only", "1", "1"), action="remove-0"), headers=HTMX
    ).get_data(as_text=True)
    assert len(ROWS.findall(lines)) == 1 and "Only" not in lines


def test_the_running_total_is_worked_out_on_the_server_in_cents(app, client, firm):
    data = form(
        firm,
        line(0, "Advice", "0.333", "100.00"),  # not a quantity yet: left out of the total
        line(1, "Drafting", "1.25", "333.33"),  # 416.6625 -> 416.66
        line(2, "", "3", "100.00"),  # no description: left out
        action="total",
    )
    response = post(client, "/bills/invoices/new", data, headers=HTMX)
    total = '<p id="invoice-total" class="invoice-total" role="status">Total: <strong>$416.66</strong></p>'
    assert response.get_data(as_text=True).strip() == total
    # A change in a line (htmx posts the form to ?recalc=1, no button pressed) asks for the same.
    del data["action"]
    response = post(client, "/bills/invoices/new?recalc=1", data, headers=HTMX)
    assert response.get_data(as_text=True).strip() == total
    with app.app_context():
        assert db.session.scalar(select(Invoice)) is None


def test_without_script_the_buttons_come_back_with_the_form_and_the_save_saves(app, client, firm):
    data = form(firm, line(0, "Title review", "2.5", "300.00"))
    page = post(client, "/bills/invoices/new", {**data, "action": "add"}).get_data(as_text=True)
    assert "<h1>New invoice</h1>" in page and ROWS.findall(page) == ["0", "1"]
    page = post(client, "/bills/invoices/new", {**data, "action": "total"}).get_data(as_text=True)
    assert "Total: <strong>$750.00</strong>" in page
    response = post(client, "/bills/invoices/new", {**data, "action": "save"})
    assert response.status_code == 303
    with app.app_context():
        invoice = db.session.scalar(select(Invoice))
        assert (invoice.total_cents, len(invoice.lines)) == (75_000, 1)


def test_a_bad_date_says_how_to_write_one(app, client, firm):
    for bad in ("31/12/2026", "2026-02-30", "tomorrow"):
        data = form(firm, {**line(0, "Title review", "1", "100.00"), "lines-0-line_date": bad})
        response = post(client, "/bills/invoices/new", data)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert f"“{bad}” is not a date: pick it from the calendar or write it as YYYY-MM-DD" in page
        assert f'value="{bad}"' in page  # what was typed is shown back to correct
    response = post(client, "/bills/invoices/new", form(firm, line(0, "Advice", "1", "1"), issued_on="12/01/2026"))
    assert response.status_code == 422 and "“12/01/2026” is not a date" in response.get_data(as_text=True)


def test_editing_an_invoice_shows_all_its_lines_and_the_dates_as_saved(app, client, firm):
    rows = [line(n, f"Work {n}", "1", "10.00", on=iso(days_ago(n + 2))) for n in range(8)]
    response = post(client, "/bills/invoices/new", form(firm, *rows))
    assert response.status_code == 303
    page = client.get(f"{response.headers['Location']}/edit").get_data(as_text=True)
    assert ROWS.findall(page) == [str(n) for n in range(8)]
    assert f'value="{iso(days_ago(9))}"' in page and "Total: <strong>$80.00</strong>" in page
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert iso(days_ago(9)) in shown  # the invoice shows the dates as they were written


def test_add_line_at_forty_lines_says_an_invoice_has_at_most_forty(app, client, firm):
    lines = [line(n, f"Task {n}", "1", "10.00") for n in range(40)]
    for headers in (HTMX, {}):
        response = post(client, "/bills/invoices/new", form(firm, *lines, action="add"), headers=headers)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and "An invoice has at most 40 lines." in page
        assert len(ROWS.findall(page)) == 40 and 'value="Task 39"' in page  # nothing typed is lost
    # Forty lines save.
    assert post(client, "/bills/invoices/new", form(firm, *lines, action="save")).status_code == 303
    with app.app_context():
        assert len(db.session.scalar(select(Invoice)).lines) == 40


def test_a_post_with_more_than_forty_lines_is_refused_not_cut_short(app, client, firm):
    lines = [line(n, f"Task {n}", "1", "10.00") for n in range(43)]
    response = post(client, "/bills/invoices/new", form(firm, *lines, action="save"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An invoice has at most 40 lines. This form sent 43; only the first 40 are shown" in page
    response = post(client, "/bills/invoices/new", form(firm, *lines, action="total"), headers=HTMX)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Invoice)) is None
