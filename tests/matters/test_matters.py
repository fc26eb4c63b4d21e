"""Opening, finding, editing and closing matters."""

from datetime import date

import pytest

from tests.conftest import post
from tests.dates import days_ago, iso, today
from tests.factories import gen_contact, gen_matter, gen_user
from trustweb.extensions import db
from trustweb.models import Matter
from trustweb.services.trust import firm_today


@pytest.fixture
def people(app, auth):
    with app.app_context():
        lawyer = gen_user("lawyer", name="Eleanor Hartwell")
        client_contact = gen_contact("James Alvarez")
    auth.login_as(lawyer)
    return lawyer, client_contact


def matter_form(lawyer, contact, **fields):
    return {
        "client_id": str(contact.id),
        "lawyer_id": str(lawyer.id),
        "description": "Purchase of 12 Oak St",
        "practice_area": "Real estate",
        "opened_on": iso(days_ago(28)),
        **fields,
    }


def test_a_lawyer_opens_a_matter_with_an_evergreen_retainer(app, client, people):
    lawyer, contact = people
    response = post(
        client, "/matters/new", matter_form(lawyer, contact, evergreen_minimum="2,000", evergreen_target="$5,000.00")
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{days_ago(28).year}-0001" in page and "Purchase of 12 Oak St" in page and "James Alvarez" in page
    assert "Minimum $2,000.00, top up to $5,000.00" in page
    for section in ['id="matter-trust"', 'id="matter-requests"', 'id="trust-panel"']:
        assert section in page
    with app.app_context():
        matter = db.session.scalar(db.select(Matter))
        assert (matter.evergreen_minimum_cents, matter.evergreen_target_cents) == (200_000, 500_000)
        assert matter.status == "open" and matter.lawyer_id == lawyer.id


def test_matter_numbers_run_by_year_and_never_repeat(app, people):
    lawyer, contact = people
    year = today().year
    with app.app_context():
        numbers = [
            gen_matter(client=contact, lawyer=lawyer, opened_on=date(year, 1, 5)).number,
            gen_matter(client=contact, lawyer=lawyer, opened_on=date(year - 1, 12, 30)).number,
            gen_matter(client=contact, lawyer=lawyer, opened_on=date(year, 2, 1)).number,
        ]
    assert numbers == [f"{year}-0001", f"{year - 1}-0001", f"{year}-0002"]


def test_new_matter_from_a_contact_page_has_the_client_chosen(app, client, people):
    _, contact = people
    page = client.get(f"/matters/new?client_id={contact.id}").get_data(as_text=True)
    assert f'<option selected value="{contact.id}">James Alvarez</option>' in page


def test_evergreen_target_below_minimum_is_refused(app, client, people):
    lawyer, contact = people
    response = post(
        client, "/matters/new", matter_form(lawyer, contact, evergreen_minimum="500", evergreen_target="100")
    )
    assert response.status_code == 422
    assert "The target cannot be below the minimum." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Matter).count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_id", "0", "Choose the client."),
        ("client_id", "9999", "Not a valid choice."),
        ("client_id", "abc", "Choose the client."),
        ("lawyer_id", "0", "Choose a lawyer."),
        ("opened_on", f"31/02/{today().year}", "Not a valid date value."),
        ("opened_on", "1800-01-01", "Enter a date between 1950 and 2100."),
        ("evergreen_minimum", "-5", "The amount cannot be negative."),
        ("evergreen_minimum", "1e3", "Enter an amount like 1,234.50."),
        ("evergreen_minimum", "12.345", "Enter an amount like 1,234.50."),
        ("description", "", "Describe the matter."),
    ],
)
def test_bad_matter_input_is_refused(app, client, people, field, value, message):
    lawyer, contact = people
    response = post(client, "/matters/new", matter_form(lawyer, contact, **{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Matter).count() == 0


def test_a_staff_member_cannot_be_the_responsible_lawyer(app, client, people):
    _, contact = people
    with app.app_context():
        staff = gen_user("staff")
    response = post(client, "/matters/new", matter_form(staff, contact))
    assert response.status_code == 422


def test_close_and_reopen(app, client, people):
    lawyer, contact = people
    with app.app_context():
        matter = gen_matter(client=contact, lawyer=lawyer)
    assert post(client, f"/matters/{matter.id}/status", {"status": "closed"}).status_code == 303
    with app.app_context():
        closed = db.session.get(Matter, matter.id)
        assert closed.status == "closed" and closed.closed_on == firm_today()
    assert "No open matters" in client.get("/matters/?q=&status=open", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert post(client, f"/matters/{matter.id}/status", {"status": "reopened!"}).status_code == 422
    assert post(client, f"/matters/{matter.id}/status", {"status": "open"}).status_code == 303
    with app.app_context():
        assert db.session.get(Matter, matter.id).closed_on is None


def test_edit_keeps_the_number(app, client, people):
    lawyer, contact = people
    with app.app_context():
        matter = gen_matter(client=contact, lawyer=lawyer)
    form = client.get(f"/matters/{matter.id}/edit").get_data(as_text=True)
    assert f'value="{matter.description}"' in form
    response = post(client, f"/matters/{matter.id}/edit", matter_form(lawyer, contact, description="Renamed"))
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.get(Matter, matter.id)
        assert (saved.number, saved.description) == (matter.number, "Renamed")


def test_search_and_status_filter(app, client, people):
    lawyer, contact = people
    with app.app_context():
        other = gen_contact("Patricia Patel")
        gen_matter(client=contact, lawyer=lawyer, description="Estate plan")
        closed = gen_matter(client=other, lawyer=lawyer, description="Divorce proceedings")
        closed_matter = db.session.get(Matter, closed.id)
        closed_matter.status = "closed"
        db.session.commit()
    rows = client.get("/matters/?q=patel&status=all", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Divorce proceedings" in rows and "Estate plan" not in rows
    rows = client.get("/matters/?q=patel", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Divorce proceedings" not in rows
    rows = client.get("/matters/?q=hartwell&status=bogus", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Estate plan" in rows  # an unknown filter falls back to open matters


def test_search_finds_a_client_by_an_accented_name_in_any_case(app, client, people):
    lawyer, contact = people
    with app.app_context():
        other = gen_contact("Émile Ørsted")
        gen_matter(client=other, lawyer=lawyer, description="Boundary dispute")
        gen_matter(client=contact, lawyer=lawyer, description="Estate plan")
    for query in ["émile", "ÉMILE", "e\u0301mile", "ørsted", "ØRSTED", "Émile Ørsted"]:
        rows = client.get("/matters/", query_string={"q": query}, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "Boundary dispute" in rows and "Estate plan" not in rows, query


def test_a_matter_keeps_its_lawyer_after_they_leave(app, client, people):
    lawyer, contact = people
    with app.app_context():
        departed = gen_user("lawyer", name="Gone Lawyer")
        matter = gen_matter(client=contact, lawyer=departed)
        db.session.get(type(departed), departed.id).active = False
        db.session.commit()
    form = matter_form(departed, contact, description="Still editable")
    assert post(client, f"/matters/{matter.id}/edit", form).status_code == 303
    new_matter = post(client, "/matters/new", matter_form(departed, contact))
    assert new_matter.status_code == 422  # but nobody can give them a new one


def test_closing_a_closed_matter_keeps_its_closing_date(app, client, people):
    lawyer, contact = people
    closed_on = days_ago(30)
    with app.app_context():
        matter = gen_matter(client=contact, lawyer=lawyer)
        saved = db.session.get(Matter, matter.id)
        saved.status, saved.closed_on = "closed", closed_on
        db.session.commit()
    page = post(client, f"/matters/{matter.id}/status", {"status": "closed"}, follow_redirects=True)
    assert "is already closed" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Matter, matter.id).closed_on == closed_on
