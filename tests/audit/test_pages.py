"""The audit trail as an admin or the bookkeeper reads it: newest first, filtered, each event's before and after."""

import re

import pytest

from tests.audit.conftest import event_on, firm_day
from tests.conftest import signed_in
from tests.factories import gen_account
from trustweb.extensions import db
from trustweb.models import User

# The object of each row listed: a trust request, linked to its page.
OBJECT = r'<td data-label="Object"><a href="/bills/requests/\d+">trust request (\d+)</a>'


def text(response):
    return response.get_data(as_text=True)


def rows(html):
    """The actions listed, in the order the page lists them."""
    table = html.split('id="audit-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td data-label="What"><code>([^<]+)</code>', table)


@pytest.mark.parametrize("role", ["lawyer", "staff"])
def test_lawyers_and_staff_are_refused_and_do_not_see_it_in_the_menu(app, office, role):
    browser = signed_in(app, office.lawyer if role == "lawyer" else office.staff)
    for url in ("/audit/", "/audit/1", "/audit/events.csv"):
        response = browser.get(url)
        assert response.status_code == 403 and "Not allowed" in text(response), url
    assert browser.post("/audit/verify").status_code in (400, 403)  # no token: refused either way
    assert 'href="/audit/"' not in text(browser.get("/"))


@pytest.mark.parametrize("who", ["admin", "bookkeeper"])
def test_admin_and_bookkeeper_read_it_from_the_menu(app, office, who):
    browser = signed_in(app, getattr(office, who))
    assert re.search(r'href="/audit/" *>Audit trail</a>', text(browser.get("/")))
    page = browser.get("/audit/")
    assert page.status_code == 200 and "<h1>Audit trail</h1>" in text(page)


def test_newest_first_with_who_when_what_and_a_link_to_the_object(app, office):
    page = text(signed_in(app, office.bookkeeper).get("/audit/"))
    listed = rows(page)
    assert listed.index("user.invited") < listed.index("matter.updated") < listed.index("matter.created")
    with app.app_context():
        lawyer = db.session.get(User, office.lawyer)
        row = page.split("<code>matter.updated</code>", 1)[1].split("</tr>", 1)[0]
        before = page.split("<code>matter.updated</code>", 1)[0].rsplit("<tr>", 1)[1]
        assert f'<td data-label="Who">{lawyer.email}</td>' in before
    assert f'<a href="/matters/{office.matter}">matter {office.matter}</a>' in row
    assert re.search(r'<td data-label="When"><a href="/audit/\d+"[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d</a>', page)


def test_a_changed_field_is_shown_before_and_after_and_a_script_in_it_is_only_text(app, office):
    page = text(signed_in(app, office.admin).get("/audit/?action=matter.updated"))
    assert rows(page) == ["matter.updated"]
    assert '<dt title="description">Description</dt>' in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert 'title="status"' not in page  # open before and after: not a change


def amount_on_the_page(app, office, currencies, names_account):
    """The firm's bank accounts in `currencies`; a request event of €1,000 (recorded as cents, no currency) naming
    the first account or none; the amount as the audit trail and the event's page show it."""
    with app.app_context():
        accounts = [gen_account(currency=currency) for currency in currencies]
        db.session.commit()
        named = {"bank_account_id": accounts[0].id} if names_account else {}
        event = event_on(
            0, "request.created", object_type="TrustRequest", object_id=1, after={"amount_cents": 100_000, **named}
        )
        db.session.commit()
        event_id = event.id
    browser = signed_in(app, office.admin)
    shown = []
    for url in ("/audit/?action=request.created", f"/audit/{event_id}"):
        page = text(browser.get(url))
        shown.append(re.search(r'<dt title="amount_cents">Amount</dt>\s*<dd class="after">([^<]*)</dd>', page).group(1))
    assert shown[0] == shown[1]
    return shown[0]


def test_an_amount_is_shown_in_the_currency_of_the_account_the_event_names(app, office):
    # a USD firm with a EUR trust account: the request's €1,000 is not shown as dollars
    assert amount_on_the_page(app, office, ["EUR", "USD"], names_account=True) == "€1,000.00"


def test_an_amount_naming_no_account_in_a_firm_of_two_currencies_is_plain_cents(app, office):
    assert amount_on_the_page(app, office, ["USD", "CAD"], names_account=False) == "100000"


def test_an_amount_naming_no_account_in_a_firm_of_one_currency_is_in_it(app, office):
    assert amount_on_the_page(app, office, ["USD", "USD"], names_account=False) == "$1,000.00"


def test_the_event_page_shows_everything_it_recorded(app, office):
    browser = signed_in(app, office.admin)
    link = re.search(r'<a href="(/audit/\d+)"', text(browser.get("/audit/?action=matter.updated"))).group(1)
    page = text(browser.get(link))
    assert "<h1>Audit event #" in page and "<code>matter.updated</code>" in page
    assert f'<a href="/matters/{office.matter}">matter {office.matter}</a>' in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    assert browser.get("/audit/2147483647").status_code == 404


def test_filters_by_user_action_object_and_the_firms_dates(app, office):
    browser = signed_in(app, office.bookkeeper)
    by_admin = rows(text(browser.get(f"/audit/?user={office.admin}")))
    assert by_admin == ["user.invited"]
    by_no_one = text(browser.get("/audit/?user=none"))  # the factories' records, made with no one signed in
    assert "matter.created" in rows(by_no_one) and "user.invited" not in rows(by_no_one)
    assert '<td data-label="Who">system</td>' in by_no_one and '<option value="none" selected>' in by_no_one
    about_matter = rows(text(browser.get(f"/audit/?object=Matter&id={office.matter}")))
    assert "matter.updated" in about_matter and "user.invited" not in about_matter
    assert rows(text(browser.get("/audit/?object=Matter&id=999"))) == []
    three_days_ago = rows(text(browser.get(f"/audit/?from={firm_day(4)}&to={firm_day(2)}")))
    assert three_days_ago == ["matter.updated"]
    since_yesterday = rows(text(browser.get(f"/audit/?from={firm_day(1)}&user={office.lawyer}")))
    assert "matter.updated" not in since_yesterday and "matter.created" not in since_yesterday
    page = text(browser.get("/audit/"))  # the choices are what the trail holds
    assert '<option value="user.invited"' in page and '<option value="Matter"' in page and ">trust request<" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "“2026-02-30” is not a date; use YYYY-MM-DD."),
        ("to=yesterday", "“yesterday” is not a date; use YYYY-MM-DD."),
        (f"from={firm_day(1)}&to={firm_day(3)}", "The start date is after the end date."),
        ("id=12", "Choose the kind of object too"),
        ("user=abc", "Choose the user from the list."),
        ("to=9999-12-31", "Choose a date from 1900-01-01 to 2999-12-31."),  # the day after it: beyond Python's dates
        ("from=0001-01-01", "Choose a date from 1900-01-01 to 2999-12-31."),
        ("from=9999-12-31&to=9999-12-31", "Choose a date from 1900-01-01 to 2999-12-31."),
    ],
)
def test_a_filter_that_cannot_be_applied_is_a_400_that_says_why(app, office, query, message):
    browser = signed_in(app, office.bookkeeper)
    for headers in ({}, {"HX-Request": "true"}):
        response = browser.get(f"/audit/?{query}", headers=headers)
        assert response.status_code == 400
        assert message in text(response), text(response)[:500]
    assert browser.get(f"/audit/events.csv?{query}").status_code == 400


def test_htmx_gets_only_the_rows(app, office):
    response = signed_in(app, office.admin).get("/audit/?action=user.invited", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<h1>" not in text(response) and rows(text(response)) == ["user.invited"]


def test_pages_of_fifty_go_older_and_back_newer_with_no_event_twice(app, office):
    with app.app_context():
        for n in range(120):
            event_on(0, "request.viewed", object_type="TrustRequest", object_id=n + 1)
        db.session.commit()
    browser = signed_in(app, office.admin)
    first = text(browser.get("/audit/?action=request.viewed"))
    seen = re.findall(OBJECT, first)
    assert seen[:3] == ["120", "119", "118"] and len(seen) == 50
    older = re.search(r'<a href="([^"]+)"[^>]*>Older ›</a>', first).group(1).replace("&amp;", "&")
    assert "action=request.viewed" in older
    second = text(browser.get(older))
    later = re.findall(OBJECT, second)
    assert later[0] == "70" and len(later) == 50
    newer = re.search(r'<a href="([^"]+)"[^>]*>‹ Newer</a>', second).group(1).replace("&amp;", "&")
    assert re.findall(OBJECT, text(browser.get(newer))) == seen
    third = text(browser.get(re.search(r'<a href="([^"]+)"[^>]*>Older ›</a>', second).group(1).replace("&amp;", "&")))
    assert re.findall(OBJECT, third) == [str(n) for n in range(20, 0, -1)]
    assert "Older ›" not in third


def test_every_object_page_named_is_a_page_of_the_app(app):
    from trustweb.audit.routes import OBJECT_PAGES  # once the app is made (trustweb.forms imports the models first)

    for endpoint, name in OBJECT_PAGES.values():
        rule = next(app.url_map.iter_rules(endpoint))
        assert f"<int:{name}>" in rule.rule and "GET" in rule.methods, endpoint
