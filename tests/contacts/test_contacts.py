"""The front desk's day with contacts: add, find, correct."""

import pytest

from tests.conftest import post
from tests.factories import gen_contact, gen_matter, gen_user
from trustweb.extensions import db
from trustweb.models import Contact


@pytest.fixture
def paralegal(app, auth):
    with app.app_context():
        user = gen_user("staff")
    auth.login_as(user)
    return user


def test_a_paralegal_adds_a_client(app, client, paralegal):
    response = post(
        client,
        "/contacts/new",
        {
            "kind": "person",
            "name": " Maria Alvarez ",
            "email": "Maria@Example.com",
            "phone": "555-0100",
            "address": "12 Oak St\nSpringfield",
        },
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Maria Alvarez" in page and "maria@example.com" in page and "12 Oak St" in page
    with app.app_context():
        contact = db.session.scalar(db.select(Contact))
        assert (contact.name, contact.email, contact.other_email) == ("Maria Alvarez", "maria@example.com", None)


def test_editing_a_contact_keeps_it_the_same_record(app, client, paralegal):
    with app.app_context():
        contact = gen_contact("Robert Chen")
    response = post(
        client, f"/contacts/{contact.id}/edit", {"kind": "company", "name": "Chen Holdings LLC", "email": ""}
    )
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.get(Contact, contact.id)
        assert (saved.name, saved.kind, saved.email) == ("Chen Holdings LLC", "company", None)
        assert db.session.query(Contact).count() == 1


def test_search_finds_by_name_email_or_phone(app, client, paralegal):
    with app.app_context():
        gen_contact("Linda Murphy", email="linda@murphy.example.com", phone="217-555-0199")
        gen_contact("Thomas Quinn", email="tq@example.com")
    for query in ["murphy", "LINDA", "555-0199", "murphy.example"]:
        rows = client.get(f"/contacts/?q={query}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "Linda Murphy" in rows and "Thomas Quinn" not in rows, query


def test_htmx_gets_only_the_rows_and_a_browser_the_whole_page(app, client, paralegal):
    with app.app_context():
        gen_contact("Linda Murphy")
    partial = client.get("/contacts/?q=linda", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<table class="list cards" id="contacts-table">')
    assert "<html" not in html and "Linda Murphy" in html
    assert "HX-Request" in partial.headers["Vary"]
    full = client.get("/contacts/?q=linda").get_data(as_text=True)
    assert "<html" in full and 'id="contact-search"' in full and 'value="linda"' in full
    restore = client.get("/contacts/?q=linda", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_pages_of_25(app, client, paralegal):
    with app.app_context():
        for i in range(30):
            gen_contact(f"Client {i:02d}")
    first = client.get("/contacts/").get_data(as_text=True)
    assert "Client 00" in first and "Client 24" in first and "Client 25" not in first
    assert "Page 1 of 2" in first
    second = client.get("/contacts/?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Client 25" in second and "Client 29" in second and "Client 24" not in second
    for bad in ["0", "-3", "abc", "999"]:
        assert client.get(f"/contacts/?page={bad}").status_code == 200


def test_no_match_says_so(app, client, paralegal):
    rows = client.get("/contacts/?q=zzz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No contacts match “zzz”." in rows


def test_search_text_is_escaped(app, client, paralegal):
    rows = client.get("/contacts/?q=<script>alert(1)</script>", headers={"HX-Request": "true"})
    html = rows.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_contact_page_lists_matters_and_has_room_for_trust(app, client, paralegal):
    with app.app_context():
        contact = gen_contact("James Alvarez")
        contact_id = contact.id
        matter = gen_matter(client=contact, description="Estate plan and will")
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert matter.number in page and "Estate plan and will" in page
    for section in ['id="contact-trust"', 'id="contact-requests"', 'id="contact-matters"']:
        assert section in page
    assert f"/matters/new?client_id={contact_id}" in page


def test_missing_contact_is_404(client, paralegal):
    response = client.get("/contacts/999")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)


def test_percent_and_underscore_in_search_are_literal(app, client, paralegal):
    with app.app_context():
        gen_contact("Smith_Jones Partners")
        gen_contact("SmithXJones Trading")
        gen_contact("100% Organic Farms")
    rows = client.get("/contacts/?q=smith_", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Smith_Jones" in rows and "SmithXJones" not in rows
    rows = client.get("/contacts/?q=%25", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "100% Organic" in rows and "Smith" not in rows


def test_search_finds_accented_names_in_any_case(app, client, paralegal):
    # SQLite's own LIKE and lower() fold only A to Z; the name is found by its key (name_key), as the client search is.
    with app.app_context():
        gen_contact("Émile Ørsted", email="emile@example.com")
        gen_contact("Gisela Weiß")
        gen_contact("Thomas Quinn", email="tq@example.com")
    found = {
        "Émile Ørsted": ["émile", "ÉMILE", "Émile", "e\u0301mile", "ørsted", "ØRSTED", "le Ør", "ÉMILE ØRSTED"],
        "Gisela Weiß": ["weiß", "WEISS", "weiss", "GISELA WEIẞ"],
    }
    for name, queries in found.items():
        for query in queries:
            rows = client.get("/contacts/", query_string={"q": query}, headers={"HX-Request": "true"})
            html = rows.get_data(as_text=True)
            assert name in html and "Thomas Quinn" not in html, query
    rows = client.get("/contacts/", query_string={"q": "EMILE@"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Émile Ørsted" in rows  # the email still found as before
    rows = client.get("/contacts/", query_string={"q": "ørsteds"}, headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "No contacts match" in rows
