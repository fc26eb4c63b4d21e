"""The New trust request form as a lawyer fills it in all day: the client found by typing part of the name (with
and without script), the matter, Save draft or Save and send, the email previewed, and the due date the firm
sets. The client search stays bounded however many contacts the firm has."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select

from tests.conftest import post, signed_in
from tests.factories import gen_contact, gen_user
from tests.requests.steps import count, gen_firm, outbox, text
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, EmailTemplate, FirmSettings, OutboxMessage, TrustRequest
from trustweb.models.firm import DEFAULTS
from trustweb.services.clients import CLIENT_CHOICES
from trustweb.services.trust import firm_today

HTMX = {"HX-Request": "true"}
OPTION = re.compile(r'role="option" id="client-option-(\d+)"')
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
KEY = "form-key-0123456789abcdef"


@dataclass(frozen=True)
class Firm:
    """gen_firm()'s ids, and the firm's today."""

    account: int
    lawyer: int
    client_a: int
    matter_a1: int
    client_b: int
    matter_b1: int
    today: date


@pytest.fixture
def firm(app):
    with app.app_context():
        setup = gen_firm()
        return Firm(
            setup.account, setup.lawyer, setup.client_a, setup.matter_a1, setup.client_b, setup.matter_b1, firm_today()
        )


@pytest.fixture
def lawyer(app, firm):
    return signed_in(app, firm.lawyer)


def filled(setup, **changes):
    """The form as the lawyer leaves it: Ada Archer chosen from the combobox, her first matter, $5,000."""
    today = setup.today
    return {
        "client": "Ada Archer",
        "contact_id": setup.client_a,
        "matter_id": setup.matter_a1,
        "account_id": setup.account,
        "amount": "5,000.00",
        "issued_on": today.isoformat(),
        "due_on": (today + timedelta(days=14)).isoformat(),
        "message": "Retainer for the purchase of 12 Elm St.",
        "template_id": 0,
        "recipients": "ada@example.com",
        "cc": "",
        "key": KEY,
        **changes,
    }


def many_contacts(n):
    """n more contacts, inserted in one statement (a firm with years of clients)."""
    db.session.execute(insert(Contact), [{"kind": "person", "name": f"Client {i:05d}"} for i in range(n)])
    db.session.commit()


def run(app, action):
    """The statements action() ran (BEGINs apart) and what it answered."""
    with statements(app) as seen:
        response = action()
    return [s for s in seen if not s.startswith("BEGIN")], response


# The client combobox


def test_typing_part_of_a_name_offers_the_clients_it_starts_and_their_words_start(app, firm, lawyer):
    with app.app_context():
        gen_contact("Hartley, Jane")
        gen_contact("Jane Hartwell")
        gen_contact("Ben Hart")
        gen_contact("Bernhart Co")  # "hart" inside a word: not offered
    found = text(lawyer.get("/bills/requests/clients?client=HART", headers=HTMX))
    names = re.findall(r'data-name="([^"]+)"', found)
    assert names == ["Hartley, Jane", "Ben Hart", "Jane Hartwell"]  # the name's start first, then a later word's
    assert 'role="listbox"' in found and 'data-status="3 clients found' in found
    nothing = text(lawyer.get("/bills/requests/clients?client=zzz", headers=HTMX))
    assert "name starts with “zzz”." in nothing and 'role="option"' not in nothing
    assert 'role="option"' not in text(lawyer.get("/bills/requests/clients?client=", headers=HTMX))


@pytest.mark.parametrize("typed", ["Émile", "émile", "ÉMILE", "E\u0301mile", "Ørsted", "ørs", "ØRSTED"])
def test_clients_whose_names_start_with_an_accented_letter_are_found_in_any_case(app, firm, lawyer, typed):
    with app.app_context():
        gen_contact("Émile Ørsted")
        gen_contact("Emile Orr")  # no accent: another name
    ran, response = run(app, lambda: lawyer.get(f"/bills/requests/clients?client={typed}", headers=HTMX))
    assert re.findall(r'data-name="([^"]+)"', text(response)) == ["Émile Ørsted"]
    assert len([s for s in ran if "FROM contact" in s]) == 2 and len(ran) <= 5, "\n".join(ran)


def test_a_long_name_that_folding_lengthens_is_saved_and_found(app, firm, lawyer):
    """ "ß" folds to "ss": a 200-letter name of them has a longer key than the column holds; the key keeps its first
    200 letters (on PostgreSQL a longer one failed the save), and the name is found by its start either way."""
    name = ("Straße " * 29)[:200]
    with app.app_context():
        gen_contact(name)
    for typed in ("strasse str", "STRAßE", "straße straße straße"):
        found = text(lawyer.get(f"/bills/requests/clients?client={typed}", headers=HTMX))
        assert re.findall(r'data-name="([^"]+)"', found) == [name.strip()], typed


def test_a_renamed_or_bulk_inserted_contact_is_found_by_its_new_name(app, firm, lawyer):
    with app.app_context():
        renamed = db.session.get(Contact, gen_contact("Ann Smith").id)
        renamed.name = "Åsa Lindqvist"
        db.session.execute(insert(Contact), [{"kind": "person", "name": "Ærøskøbing Ferries"}])
        db.session.commit()
    found = text(lawyer.get("/bills/requests/clients?client=å", headers=HTMX))
    assert re.findall(r'data-name="([^"]+)"', found) == ["Åsa Lindqvist"]
    found = text(lawyer.get("/bills/requests/clients?client=ÆRØ", headers=HTMX))
    assert re.findall(r'data-name="([^"]+)"', found) == ["Ærøskøbing Ferries"]
    assert "Ann Smith" not in text(lawyer.get("/bills/requests/clients?client=ann", headers=HTMX))


def test_the_client_search_is_bounded_and_uses_the_name_index_with_thousands_of_contacts(app, firm, lawyer):
    with app.app_context():
        many_contacts(2_000)
        gen_contact("Zelda Quist")
    ran, response = run(app, lambda: lawyer.get("/bills/requests/clients?client=client", headers=HTMX))
    assert len(OPTION.findall(text(response))) == CLIENT_CHOICES
    searches = [s for s in ran if "FROM contact" in s]
    # One bounded query answers: twenty names start with "client", so no later word is looked for.
    assert len(searches) == 1 and "LIMIT" in searches[0], "\n".join(ran)
    assert len(ran) <= 4, "\n".join(ran)  # the session and user, the search
    ran, response = run(app, lambda: lawyer.get("/bills/requests/clients?client=quist", headers=HTMX))
    assert re.findall(r'data-name="([^"]+)"', text(response)) == ["Zelda Quist"]
    assert len([s for s in ran if "FROM contact" in s]) == 2 and not any(WRITES.match(s) for s in ran)
    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM contact WHERE name_key >= 'client' AND name_key < 'clienu' "
                "ORDER BY name_key LIMIT 20"
            ).all()
            assert "ix_contact_name_key" in str(plan)


def test_the_form_no_longer_lists_every_contact(app, firm, lawyer):
    with app.app_context():
        many_contacts(2_000)
    ran, response = run(app, lambda: lawyer.get("/bills/requests/new"))
    page = text(response)
    assert response.status_code == 200
    assert "Client 01999" not in page and "Client 00000" not in page
    assert len(page) < 30_000, len(page)
    assert not any("FROM contact" in s and "LIMIT" not in s and "WHERE" not in s for s in ran), "\n".join(ran)
    assert len(ran) <= 12, "\n".join(ran)


def test_choosing_a_client_reloads_the_form_with_her_matters_and_email(app, firm, lawyer):
    """What the combobox does on choosing (htmx, the form's contact_id changed): that client's matters only."""
    page = text(
        lawyer.get(
            f"/bills/requests/new?client=Ben+Baker&contact_id={firm.client_b}&reloaded_for=",
            headers={**HTMX, "HX-Trigger-Name": "contact_id"},
        )
    )
    assert page.lstrip().startswith('<div id="request-form">')
    assert 'value="Ben Baker"' in page and "Baker v. Coastal Insurance" in page
    assert "Purchase of 12 Elm St" not in page
    assert '<label for="matter_id">Matter</label>' in page


def test_without_script_a_typed_name_finds_the_client_or_asks_which(app, firm, lawyer):
    with app.app_context():
        gen_contact("Ada Abbott", email="abbott@example.com")
    # "Find client" (a GET of the form): two clients start "ada": the form asks which, nothing else changes.
    page = text(lawyer.get("/bills/requests/new?client=ada&amount=5%2C000.00"))
    assert "2 clients match “ada”: choose one." in page
    assert page.count('name="pick_id"') == 2 and "Use this client" in page and 'value="5,000.00"' in page
    # Picking one shows her matters and her email.
    with app.app_context():
        abbott = db.session.scalar(select(Contact.id).where(Contact.name == "Ada Abbott"))
    page = text(lawyer.get(f"/bills/requests/new?client=ada&pick_id={abbott}"))
    assert 'value="Ada Abbott"' in page and 'value="abbott@example.com"' in page and "pick_id" not in page
    # One client: found at once.
    page = text(lawyer.get("/bills/requests/new?client=ben"))
    assert 'value="Ben Baker"' in page and "Baker v. Coastal Insurance" in page


def test_without_script_a_name_typed_and_saved_at_once_is_checked_first(app, firm, lawyer, mailbox):
    """Typed "ben", never chosen, Save draft: the form comes back with Ben Baker and his matters to check."""
    data = filled(firm, client="ben", contact_id="", matter_id=0, recipients="")
    response = post(lawyer, "/bills/requests/new", data)
    page = text(response)
    assert response.status_code == 422
    assert "Ben Baker is chosen: check the matter and the email, then save." in page
    assert "Baker v. Coastal Insurance" in page
    with app.app_context():
        assert count(TrustRequest) == 0
    response = post(
        lawyer,
        "/bills/requests/new",
        filled(
            firm, client="Ben Baker", contact_id=firm.client_b, matter_id=firm.matter_b1, recipients="ben@example.com"
        ),
    )
    assert response.status_code == 303
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
        assert (made.contact_id, made.matter_id) == (firm.client_b, firm.matter_b1)


def test_an_unknown_name_says_so(app, firm, lawyer):
    response = post(lawyer, "/bills/requests/new", filled(firm, client="Nobody Here", contact_id=""))
    assert response.status_code == 422
    assert "No client&#39;s name starts with “Nobody Here”." in text(response)


# Save draft, Save and send


def test_save_draft_saves_and_sends_nothing(app, firm, lawyer, mailbox):
    response = post(lawyer, "/bills/requests/new", {**filled(firm), "then": "draft"})
    assert response.status_code == 303
    assert "TR-000001 saved as a draft." in text(lawyer.get(response.headers["Location"]))
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
        assert made.status == "draft" and outbox(made.id) == []


def test_save_and_send_queues_the_email_through_the_outbox(app, firm, lawyer, mailbox):
    response = post(lawyer, "/bills/requests/new", {**filled(firm), "then": "send"})
    assert response.status_code == 303
    page = text(lawyer.get(response.headers["Location"]))
    assert "Trust request TR-000001 saved and sent: its email is on its way to ada@example.com." in page
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
        assert made.status == "sent"
        [email] = outbox(made.id)
        assert email.kind == "request" and "ada@example.com" in email.recipients
        assert count(AuditEvent, AuditEvent.action == "request.sent") == 1


def test_a_double_clicked_save_and_send_makes_one_request_and_one_email(app, firm, lawyer, mailbox):
    data = {**filled(firm), "then": "send"}
    first, second = post(lawyer, "/bills/requests/new", data), post(lawyer, "/bills/requests/new", data)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["Location"] == first.headers["Location"]
    assert "was already saved from this form; nothing more was made or sent" in text(
        lawyer.get(second.headers["Location"])
    )
    with app.app_context():
        assert count(TrustRequest) == 1 and count(OutboxMessage) == 1
    # Another form (another key) is another request.
    assert post(lawyer, "/bills/requests/new", {**data, "key": "another-key-0123456789ab"}).status_code == 303
    with app.app_context():
        assert count(TrustRequest) == 2


def test_save_and_send_by_staff_waits_for_approval_and_is_sent_when_a_lawyer_approves(app, firm, lawyer, mailbox):
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
        db.session.commit()
        paralegal = gen_user("staff")
    office = signed_in(app, paralegal.id)
    form = text(office.get("/bills/requests/new"))
    assert "it is sent once a lawyer approves it" in form
    response = post(office, "/bills/requests/new", {**filled(firm), "then": "send"})
    page = text(office.get(response.headers["Location"]))
    assert "TR-000001 saved. It waits for a lawyer&#39;s approval: it is sent once approved." in page
    with app.app_context():
        [made] = db.session.scalars(select(TrustRequest)).all()
        assert made.status == "draft" and outbox(made.id) == []
    # The lawyer approves it: it goes, as the form promised, through the outbox like Send.
    response = post(lawyer, f"/bills/requests/{made.id}/approve")
    page = text(lawyer.get(response.headers["Location"]))
    assert "TR-000001 approved and sent: its email is on its way to ada@example.com." in page
    with app.app_context():
        made = db.session.get(TrustRequest, made.id)
        assert (made.status, made.approved_by_id) == ("sent", firm.lawyer)
        assert [message.kind for message in outbox(made.id)] == ["request"] and len(made.links) == 1
        sent = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.sent")).one()
        assert sent.user_id == firm.lawyer and sent.object_id == str(made.id)


@pytest.mark.parametrize("recipients", ["ada@example.com", ""])
def test_a_staff_draft_saved_without_send_is_approved_but_not_sent(app, firm, lawyer, mailbox, recipients):
    """Only Save and send asks for the email: an approved draft waits for Send; one asked to go without an address
    is approved all the same and says why it was not sent."""
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
        db.session.commit()
        paralegal = gen_user("staff")
    office = signed_in(app, paralegal.id)
    then = "send" if not recipients else "draft"
    post(office, "/bills/requests/new", {**filled(firm, recipients=recipients), "then": then})
    with app.app_context():
        made = db.session.scalars(select(TrustRequest)).one()
    page = text(lawyer.get(post(lawyer, f"/bills/requests/{made.id}/approve").headers["Location"]))
    if recipients:
        assert "TR-000001 approved; it can be sent." in page
    else:
        # Approved, but what was asked is not done: said as a warning, not in the success colour.
        warning = '<div class="flash flash-warning" role="status">TR-000001 approved but not sent: TR-000001 has no'
        assert warning in page
    with app.app_context():
        made = db.session.get(TrustRequest, made.id)
        assert (made.status, made.approved_by_id, outbox(made.id)) == ("draft", firm.lawyer, [])


def staff_sent_for_approval(app, firm):
    """A paralegal's request made with Save and send in a firm that has a lawyer approve them: her browser, its id."""
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
        db.session.commit()
        paralegal = gen_user("staff")
    office = signed_in(app, paralegal.id)
    assert post(office, "/bills/requests/new", {**filled(firm), "then": "send"}).status_code == 303
    with app.app_context():
        return office, db.session.scalars(select(TrustRequest.id)).one()


APPROVE_AND_SEND = re.compile(r'<button type="submit" class="primary"[^>]*>Approve and send</button>')
SENDS_NOW = "Approving emails the client the request now."


def approved_page(lawyer, request_id):
    return text(lawyer.get(post(lawyer, f"/bills/requests/{request_id}/approve").headers["Location"]))


def test_the_lawyer_is_told_that_approving_a_save_and_send_emails_the_client(app, firm, lawyer, mailbox):
    office, request_id = staff_sent_for_approval(app, firm)
    page = text(lawyer.get(f"/bills/requests/{request_id}"))
    assert APPROVE_AND_SEND.search(page) and SENDS_NOW in page and ">Approve</button>" not in page
    assert SENDS_NOW not in text(office.get(f"/bills/requests/{request_id}"))  # staff have no Approve to press
    # A draft saved with Save draft is only approved: the plain label, no warning.
    post(office, "/bills/requests/new", {**filled(firm), "key": "another-key-0123456789ab", "then": "draft"})
    with app.app_context():
        draft = db.session.scalars(select(TrustRequest.id).where(TrustRequest.id != request_id)).one()
    page = text(lawyer.get(f"/bills/requests/{draft}"))
    assert ">Approve</button>" in page and "Approve and send" not in page and SENDS_NOW not in page


def test_a_save_and_send_draft_edited_with_save_is_no_longer_sent_on_approval(app, firm, lawyer, mailbox):
    office, request_id = staff_sent_for_approval(app, firm)
    edit = text(office.get(f"/bills/requests/{request_id}/edit"))
    assert ">Save and send</button>" in edit and '"Save" keeps it a draft' in edit
    response = post(office, f"/bills/requests/{request_id}/edit", {**filled(firm, amount="6,000.00"), "then": "draft"})
    assert "TR-000001 saved." in text(office.get(response.headers["Location"]))
    page = text(lawyer.get(f"/bills/requests/{request_id}"))
    assert ">Approve</button>" in page and "Approve and send" not in page and SENDS_NOW not in page
    assert "TR-000001 approved; it can be sent." in approved_page(lawyer, request_id)
    with app.app_context():
        made = db.session.get(TrustRequest, request_id)
        assert (made.status, made.amount_cents, outbox(request_id)) == ("draft", 600_000, [])


def test_a_draft_edited_with_save_and_send_is_sent_on_approval_again(app, firm, lawyer, mailbox):
    office, request_id = staff_sent_for_approval(app, firm)
    post(office, f"/bills/requests/{request_id}/edit", {**filled(firm), "then": "draft"})  # kept a draft
    response = post(office, f"/bills/requests/{request_id}/edit", {**filled(firm, amount="7,000.00"), "then": "send"})
    page = text(office.get(response.headers["Location"]))
    assert "TR-000001 saved. It waits for a lawyer&#39;s approval: it is sent once approved." in page
    assert APPROVE_AND_SEND.search(text(lawyer.get(f"/bills/requests/{request_id}")))
    assert "TR-000001 approved and sent: its email is on its way to ada@example.com." in approved_page(
        lawyer, request_id
    )
    with app.app_context():
        made = db.session.get(TrustRequest, request_id)
        assert (made.status, made.amount_cents) == ("sent", 700_000)
        assert [message.kind for message in outbox(request_id)] == ["request"]


def test_save_and_send_without_an_address_saves_the_draft_and_says_why(app, firm, lawyer, mailbox):
    response = post(lawyer, "/bills/requests/new", {**filled(firm, recipients=""), "then": "send"})
    page = text(lawyer.get(response.headers["Location"]))
    assert "TR-000001 saved as a draft but not sent: TR-000001 has no email recipient" in page
    with app.app_context():
        assert db.session.scalar(select(TrustRequest.status)) == "draft"


# The email previewed


def test_preview_shows_the_email_with_the_forms_values_and_writes_nothing(app, firm, lawyer, mailbox):
    data = {**filled(firm, amount="1,250.00", message="Please send the retainer."), "then": "preview"}
    ran, response = run(app, lambda: post(lawyer, "/bills/requests/preview", data, headers=HTMX))
    preview = text(response)
    assert response.status_code == 200 and preview.lstrip().startswith('<section class="card email-preview-card"')
    assert "$1,250.00" in preview and "Ada Archer" in preview and "Please send the retainer." in preview
    assert "Purchase of 12 Elm St" in preview
    assert not [s for s in ran if WRITES.match(s)], "\n".join(ran)
    with app.app_context():
        assert count(TrustRequest) == 0 and count(EmailTemplate) == 0
    # Without script: the whole form again, the preview below it, what was typed kept.
    page = text(post(lawyer, "/bills/requests/preview", data))
    assert "<h1>New trust request</h1>" in page and "The email the client will get" in page
    assert 'value="1,250.00"' in page
    # A template the firm chose is the one previewed.
    with app.app_context():
        template = EmailTemplate(
            name="Short", kind="request", subject="Pay {{ amount_due }} now", body="Hi {{ client_name }}"
        )
        db.session.add(template)
        db.session.commit()
        template_id = template.id
    preview = text(post(lawyer, "/bills/requests/preview", {**data, "template_id": template_id}, headers=HTMX))
    assert "Pay $1,250.00 now" in preview and "Hi Ada Archer" in preview


def test_preview_with_an_invoice_template_or_a_broken_one_says_why_where_the_email_would_be(app, firm, lawyer):
    """Only a request's templates are offered; an invoice's id posted anyway, or a stored request template that
    cannot be filled, is refused with its reason in the preview's place (a 400), never a 500."""
    with app.app_context():
        invoice = EmailTemplate(name="Invoice", kind="invoice", subject="{{ invoice_number }}", body="{{ notes }}")
        broken = EmailTemplate(name="Tampered", kind="request", subject="Hi", body="{{ config.SECRET_KEY }}")
        db.session.add_all([invoice, broken])
        db.session.commit()
        invoice_id, broken_id = invoice.id, broken.id
    data = {**filled(firm), "then": "preview"}
    for headers in (HTMX, {}):
        response = post(lawyer, "/bills/requests/preview", {**data, "template_id": invoice_id}, headers=headers)
        assert response.status_code == 400
        assert "No preview: Choose the template from the list." in text(response) and "INV-" not in text(response)
        response = post(lawyer, "/bills/requests/preview", {**data, "template_id": broken_id}, headers=headers)
        assert response.status_code == 400
        assert "No preview: The body may only use merge fields by name" in text(response)
        assert app.config["SECRET_KEY"] not in text(response)
    with app.app_context():
        assert count(TrustRequest) == 0


# The default due date


def test_a_new_request_is_due_the_firms_number_of_days_after_today(app, firm, lawyer):
    page = text(lawyer.get("/bills/requests/new"))
    assert f'name="due_on" type="date" value="{(firm.today + timedelta(days=14)).isoformat()}"' in page
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "request_due_days": 30}))
        db.session.commit()
    page = text(lawyer.get("/bills/requests/new"))
    assert f'value="{(firm.today + timedelta(days=30)).isoformat()}"' in page
