"""Bad input on every form: a clear message, a 4xx status, nothing stored, nothing echoed unescaped."""

import pytest

from tests.conftest import post
from tests.dates import days_ago, iso, today
from tests.factories import gen_account, gen_contact, gen_matter, gen_user
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, EmailTemplate, FirmSettings, Matter, TrustRequest, User

SCRIPT = "<script>alert('x')</script>"
TOO_LONG = "x" * 5001


def snapshot():
    """Everything a form could have written, as plain values."""
    settings = db.session.get(FirmSettings, 1)
    return {
        "contacts": [(c.name, c.email, c.phone, c.notes) for c in db.session.scalars(db.select(Contact))],
        "matters": [(m.description, m.notes, m.evergreen_minimum_cents) for m in db.session.scalars(db.select(Matter))],
        "users": [(u.email, u.name, u.role, u.active) for u in db.session.scalars(db.select(User))],
        "accounts": [(a.name, a.bank_name, a.account_last4) for a in db.session.scalars(db.select(BankAccount))],
        "settings": settings
        and (
            settings.firm_name,
            settings.email,
            settings.timezone,
            settings.currency,
            settings.pay_link_days,
            settings.card_fee_basis_points,
            settings.card_fee_fixed_cents,
            settings.payment_instructions,
        ),
        "templates": [(t.name, t.subject, t.body) for t in db.session.scalars(db.select(EmailTemplate))],
        "requests": [
            (r.amount_cents, r.message, r.recipients, r.due_on) for r in db.session.scalars(db.select(TrustRequest))
        ],
    }


@pytest.fixture
def world(app, auth):
    """An admin signed in, with one contact, matter, staff user and account to edit."""
    with app.app_context():
        admin = gen_user("admin")
        contact = gen_contact("Grace Hughes")
        matter = gen_matter(client=contact, lawyer=admin)
        staff = gen_user("staff", name="Sam Whitaker")
        account = gen_account("IOLTA Trust", is_default=True)
        FirmSettings.get()
        db.session.commit()
    auth.login_as(admin)
    return {"admin": admin, "contact": contact, "matter": matter, "staff": staff, "account": account}


def valid_forms(world):
    """url -> a valid payload for every form in the app."""
    contact, matter, staff, account, admin = (world[k] for k in ("contact", "matter", "staff", "account", "admin"))
    matter_data = {
        "client_id": str(contact.id),
        "lawyer_id": str(admin.id),
        "description": "Estate plan",
        "opened_on": iso(days_ago(200)),
        "practice_area": "",
        "evergreen_minimum": "",
        "evergreen_target": "",
        "notes": "",
    }
    contact_data = {
        "kind": "person",
        "name": "Noah Jensen",
        "email": "",
        "other_email": "",
        "phone": "",
        "address": "",
        "notes": "",
    }
    account_data = {"name": "Second Trust", "kind": "trust", "bank_name": "", "account_last4": "", "currency": "USD"}
    return {
        "/contacts/new": contact_data,
        f"/contacts/{contact.id}/edit": contact_data,
        "/matters/new": matter_data,
        f"/matters/{matter.id}/edit": matter_data,
        "/settings/": {
            "firm_name": "Hughes & Co",
            "address": "",
            "email": "",
            "phone": "",
            "timezone": "America/Chicago",
            "currency": "USD",
            "pay_link_days": "60",
            "remind_days_before": "3",
            "remind_overdue_every": "7",
            "card_fee_percent": "2.9",
            "card_fee_fixed": "0.30",
            "payment_instructions": "",
            "trust_notice_days": "0",
            "reminder_hour": "8",
            "request_due_days": "14",
        },
        "/settings/templates/new": {
            "name": "Short retainer",
            "kind": "request",
            "subject": "{{ firm_name }}: {{ amount_due }}",
            "body": "Dear {{ client_name }},\n\nPlease pay {{ amount_due }}: {{ pay_link }}",
        },
        "/bills/requests/new": {
            "contact_id": str(contact.id),
            "matter_id": str(matter.id),
            "account_id": str(account.id),
            "amount": "1,500.00",
            "issued_on": iso(days_ago(28)),
            "due_on": iso(today()),
            "message": "Retainer, please.",
            "template_id": "0",
            "minimum": "",
            "recipients": "grace@example.com",
            "cc": "",
        },
        "/settings/users": {"name": "Nadia Costa", "email": "nadia@firm.example.com", "role": "staff"},
        f"/settings/users/{staff.id}": {"name": "Sam W.", "role": "staff"},
        "/settings/accounts/new": account_data,
        f"/settings/accounts/{account.id}": {**account_data, "name": "IOLTA Trust"},
    }


TEXT_FIELDS = {
    "/contacts/new": ["name", "email", "phone", "address", "notes"],
    "/matters/new": ["description", "practice_area", "evergreen_minimum", "notes"],
    "/settings/": ["firm_name", "address", "email", "phone", "payment_instructions", "card_fee_percent"],
    "/settings/users": ["name", "email"],
    "/settings/accounts/new": ["name", "bank_name", "account_last4"],
    "/settings/templates/new": ["name", "subject", "body"],
    "/bills/requests/new": ["amount", "message", "recipients", "cc", "minimum"],
}
REQUIRED = {
    "/contacts/new": ["name"],
    "/matters/new": ["client_id", "lawyer_id", "description", "opened_on"],
    "/settings/": ["firm_name", "pay_link_days", "card_fee_percent", "card_fee_fixed"],
    "/settings/users": ["name", "email", "role"],
    "/settings/accounts/new": ["name", "kind"],
    "/settings/templates/new": ["name", "subject", "body"],
    "/bills/requests/new": ["contact_id", "account_id", "amount", "issued_on"],
}
CHOICES = {
    "/contacts/new": {"kind": "alien"},
    "/matters/new": {"client_id": "not-a-number", "lawyer_id": "99999"},
    "/settings/": {"timezone": "Mars/Olympus", "currency": "XYZ"},
    "/settings/users": {"role": "superuser"},
    "/settings/accounts/new": {"kind": "savings", "currency": "BTC"},
    "/settings/templates/new": {"kind": "statement"},
    "/bills/requests/new": {"contact_id": "99999", "matter_id": "abc", "account_id": "0", "template_id": "77"},
}


def cases():
    for url, fields in TEXT_FIELDS.items():
        for field in fields:
            yield pytest.param(url, field, SCRIPT, id=f"{url}:{field}:script")
            yield pytest.param(url, field, TOO_LONG, id=f"{url}:{field}:too-long")
    for url, fields in REQUIRED.items():
        for field in fields:
            yield pytest.param(url, field, "", id=f"{url}:{field}:empty")
    for url, fields in CHOICES.items():
        for field, value in fields.items():
            yield pytest.param(url, field, value, id=f"{url}:{field}:wrong-choice")
    yield pytest.param("/settings/accounts/new", "account_last4", "12a4", id="last4:not-digits")
    yield pytest.param("/contacts/new", "email", "maria at example", id="contact:email:not-an-email")
    yield pytest.param("/contacts/new", "name", "Maria\x00Alvarez", id="contact:name:control-char")
    yield pytest.param("/settings/", "card_fee_percent", "NaN", id="settings:fee:nan")
    yield pytest.param("/settings/", "card_fee_percent", "21", id="settings:fee:too-high")
    yield pytest.param("/settings/", "pay_link_days", "0", id="settings:pay-link-days:zero")
    yield pytest.param("/settings/", "request_due_days", "366", id="settings:request-due-days:too-many")
    yield pytest.param("/settings/templates/new", "body", "{{ config }}", id="template:body:config")
    yield pytest.param("/settings/templates/new", "subject", "{{ ''.__class__ }}", id="template:subject:attribute")
    for value in ("0", "-5", "abc", "1.234", "1e5", "99999999999999"):
        yield pytest.param("/bills/requests/new", "amount", value, id=f"request:amount:{value}")
    yield pytest.param("/bills/requests/new", "due_on", iso(days_ago(60)), id="request:due-before-issue")
    yield pytest.param("/bills/requests/new", "recipients", "not an email", id="request:recipients:bad")


def edit_url(url, world):
    """The edit form for the same kind of record, so that edits are tried too."""
    return {
        "/contacts/new": f"/contacts/{world['contact'].id}/edit",
        "/matters/new": f"/matters/{world['matter'].id}/edit",
        "/settings/accounts/new": f"/settings/accounts/{world['account'].id}",
        "/settings/users": f"/settings/users/{world['staff'].id}",
    }.get(url)


@pytest.mark.parametrize(("url", "field", "value"), list(cases()))
def test_bad_input_is_refused_and_nothing_is_stored(app, client, world, url, field, value):
    forms = valid_forms(world)
    targets = [url] + ([edit_url(url, world)] if edit_url(url, world) else [])
    for target in targets:
        payload = forms[target]
        if field not in payload and target != url:
            continue
        with app.app_context():
            before = snapshot()
        response = post(client, target, {**payload, field: value})
        html = response.get_data(as_text=True)
        assert 400 <= response.status_code < 500, (target, response.status_code)
        assert 'class="error"' in html or "flash-error" in html, target
        assert "<script>alert" not in html, target
        with app.app_context():
            assert snapshot() == before, target


def test_every_valid_payload_is_accepted(app, client, world):
    """Guards the test above: its refusals come from the bad field, not from a broken payload."""
    for url, payload in valid_forms(world).items():
        response = post(client, url, payload)
        assert response.status_code == 303, (url, response.get_data(as_text=True))


def test_a_plain_less_than_sign_is_still_fine(app, client, world):
    response = post(client, "/contacts/new", {**valid_forms(world)["/contacts/new"], "notes": "Fee < 500 agreed"})
    assert response.status_code == 303
