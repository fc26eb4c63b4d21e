"""Client email templates: merge fields only, nothing of the app behind them, no markup or headers from values."""

import pytest
from sqlalchemy import delete, select

from tests.conftest import ON_POSTGRES, post
from tests.factories import gen_user
from tests.invoices.steps import apply, invoice_for, notice_period, retainer
from tests.ledger.test_races import at_once, failures
from tests.requests.steps import gen_firm, gen_request, outbox, text
from trustweb.extensions import db
from trustweb.models import Contact, EmailTemplate, OutboxMessage, TrustRequest, User
from trustweb.refusals import ServiceError
from trustweb.services import requests as request_service
from trustweb.services.delivery import deliver_due
from trustweb.services.templates import check_template, render, sample_values, save_template

REACHING_IN = [
    ("{{ config }}", "unknown merge field “config”"),
    ("{{ config.SECRET_KEY }}", "may only use merge fields by name"),
    ("{{ ''.__class__.__mro__ }}", "may only use merge fields by name"),
    ("{{ client_name.__class__ }}", "may only use merge fields by name"),
    ("{{ client_name['__class__'] }}", "may only use merge fields by name"),
    ("{% for x in range(10) %}{{ x }}{% endfor %}", "may only contain text and merge fields"),
    ("{% for x in range(10) %}", "cannot be read"),
    ("{{ self }}", "unknown merge field “self”"),
    ("{{ lipsum.__globals__ }}", "may only use merge fields by name"),
    ("{{ lipsum }}", "unknown merge field “lipsum”"),
    ("{{ cycler.__init__.__globals__ }}", "may only use merge fields by name"),
    ("{{ request }}", "unknown merge field “request”"),
    ("{{ client_name|attr('__class__') }}", "uses “attr”"),
    ("{{ client_name|format(config) }}", "uses “format”"),
    ("{{ client_name|upper(1) }}", "uses “upper”"),
    ("{{ client_name() }}", "may only use merge fields by name"),
    ("{% set x = 1 %}", "may only contain text and merge fields"),
    ("{% include 'base.html' %}", "may only contain text and merge fields"),
    ("{% raw %}{{ config }}{% endraw %}{{ config }}", "unknown merge field “config”"),
]


@pytest.mark.parametrize(("source", "message"), REACHING_IN)
def test_a_template_that_reaches_for_the_app_is_refused_with_a_reason(app, source, message):
    with app.app_context():
        body = f"Dear {{{{ client_name }}}},\n\n{source}\n\nPay here: {{{{ pay_link }}}}"
        with pytest.raises(ServiceError, match=message):
            check_template(body, "body")
        with pytest.raises(ServiceError, match=message):
            render("Your retainer", body, sample_values("Hartwell & Stone"))
        with pytest.raises(ServiceError, match=message):
            render(source, "Dear {{ client_name }}", sample_values("Hartwell & Stone"))
        # Nor can it be saved as a template.
        with pytest.raises(ServiceError, match=message):
            save_template(None, {"name": "Sneaky", "kind": "request", "subject": "Hello", "body": body})
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(EmailTemplate)) == 0


def test_a_good_template_fills_in_every_merge_field(app):
    with app.app_context():
        subject, body_text, body_html = render(
            "{{ firm_name }}: {{ amount_due }} for {{ matter }} ({{ request_number }})",
            "Dear {{ client_name|title }},\n\n{{ message }}\n\n"
            "Please pay {{ amount_due }} of {{ amount_requested }} by {{ due_date }}.\n"
            "{{ pay_link }}\n\n{{ lawyer|upper }}",
            sample_values("Hartwell & Stone"),
        )
    assert subject == "Hartwell & Stone: $2,500.00 for 2026-0042 · Avery v. Northwind Logistics (TR-000123)"
    assert body_text.startswith("Dear Jordan Avery,\n\nThank you for instructing us.")
    assert "Please pay $2,500.00 of $2,500.00 by December 15, 2026.\nhttps://pay.example.com/pay/…" in body_text
    assert body_text.endswith("AMELIA HARTWELL\n")
    assert "{{" not in body_text and "{{" not in body_html
    assert '<a href="https://pay.example.com/pay/…">https://pay.example.com/pay/…</a>' in body_html
    assert "<p>Dear Jordan Avery,</p>" in body_html


def test_markup_in_a_value_is_shown_as_text_in_the_html_part(app):
    values = {
        **sample_values("Hartwell & Stone"),
        "client_name": '<img src=x onerror="alert(1)">Jordan',
        "message": "<script>steal()</script> & <b>bold</b>",
        "pay_link": 'https://firm.example.com/pay/abc"><script>x()</script>',
    }
    with app.app_context():
        _, body_text, body_html = render("Hello", "Dear {{ client_name }},\n\n{{ message }}\n\n{{ pay_link }}", values)
    assert "<script" not in body_html and "<img" not in body_html and "<b>" not in body_html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Jordan" in body_html
    assert "&lt;script&gt;steal()&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body_html
    assert 'href="https://firm.example.com/pay/abc&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in body_html
    # The plain-text part is the text as typed: nothing there is markup.
    assert "<script>steal()</script> & <b>bold</b>" in body_text


def test_a_value_cannot_be_read_back_as_a_template(app):
    """A client name or message that looks like a merge field stays text; the app's secrets stay in."""
    values = {**sample_values("Hartwell & Stone"), "message": "{{ config.SECRET_KEY }} {% for x in range(3) %}"}
    with app.app_context():
        subject, body_text, body_html = render("{{ message }}", "{{ message }}", values)
        secret = app.config["SECRET_KEY"]
    assert subject == "{{ config.SECRET_KEY }} {% for x in range(3) %}"
    assert body_text.strip() == subject
    assert secret not in body_text and secret not in body_html


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r", "\u2028", "\x85"])
def test_a_line_break_in_a_value_cannot_add_a_header_to_the_subject(app, newline):
    values = {**sample_values("Hartwell & Stone"), "client_name": f"Jordan{newline}Bcc: spy@evil.example"}
    with app.app_context():
        subject, _, _ = render("Retainer for {{ client_name }}", "Dear {{ client_name }}", values)
    assert subject == "Retainer for Jordan Bcc: spy@evil.example"
    assert not any(ch in subject for ch in "\r\n\u2028\x85")


def test_an_emailed_request_with_a_line_break_in_the_client_name_gets_no_extra_header(app, client, auth, mailbox):
    """Through the outbox and a real SMTP server: one recipient, no Bcc, the subject on one line."""
    with app.app_context():
        setup = gen_firm()
        contact = db.session.get(Contact, setup.client_a)
        contact.name = "Ada Archer\r\nBcc: spy@evil.example"
        template = save_template(
            None,
            {
                "name": "Personal",
                "kind": "request",
                "subject": "{{ client_name }}: your retainer ({{ request_number }})",
                "body": "Dear {{ client_name }},\n\n{{ pay_link }}",
            },
        )
        request_id = gen_request(setup)
        db.session.get(TrustRequest, request_id).template_id = template.id
        db.session.commit()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    assert post(client, f"/bills/requests/{request_id}/send").status_code == 303

    mailbox.deliver()
    [email] = mailbox.messages
    assert email["Bcc"] is None
    assert email["Subject"] == "Ada Archer Bcc: spy@evil.example: your retainer (TR-000001)"
    assert email["To"] == "ada@example.com"
    assert mailbox.to("spy@evil.example") == []


def test_a_stored_template_that_reaches_in_stops_the_send_with_a_reason(app, client, auth, mailbox):
    """A template put straight into the database, past the settings page: render refuses it, nothing goes."""
    with app.app_context():
        setup = gen_firm()
        bad = EmailTemplate(name="Tampered", kind="request", subject="Hi", body="{{ config.SECRET_KEY }}")
        db.session.add(bad)
        db.session.commit()
        request_id = gen_request(setup)
        db.session.get(TrustRequest, request_id).template_id = bad.id
        db.session.commit()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
        secret = app.config["SECRET_KEY"]
    auth.login_as(lawyer)
    response = post(client, f"/bills/requests/{request_id}/send", follow_redirects=True)
    assert "The body may only use merge fields by name" in text(response)
    assert secret not in text(response)
    assert mailbox.messages == []
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "draft"
        assert outbox(request_id) == []


def test_a_template_tampered_with_after_the_email_was_queued_does_not_go_into_it(app, client, auth, mailbox):
    """Written anew when it goes, the email would use the template as it is then: one reaching in is refused, and
    the email goes as it was written when queued."""
    with app.app_context():
        setup = gen_firm()
        request_id = gen_request(setup)
        lawyer = db.session.get(User, setup.lawyer)
        request_service.send_request(db.session.get(TrustRequest, request_id), lawyer)
        default = db.session.scalar(db.select(EmailTemplate).where(EmailTemplate.kind == "request"))
        default.body = "{{ config.SECRET_KEY }}"  # past the settings page, which would refuse it
        db.session.commit()
        secret = app.config["SECRET_KEY"]
    [email] = mailbox.to("ada@example.com")
    assert secret not in mailbox.text(email)
    assert "Retainer for the purchase of 12 Elm St." in mailbox.text(email)


def test_the_html_part_escapes_the_templates_own_words_and_links_only_the_pay_link():
    from trustweb.services.templates import as_html

    html = str(
        as_html("Fees & costs: a < b\nPay: https://firm.example/pay/abc\n\nThanks", "https://firm.example/pay/abc")
    )
    assert "Fees &amp; costs: a &lt; b<br>" in html
    assert '<a href="https://firm.example/pay/abc">https://firm.example/pay/abc</a>' in html
    assert html.count("<p>") == 2 and "<script" not in str(as_html("<script>alert(1)</script>"))


@pytest.mark.parametrize(
    ("kind", "field"),
    [("invoice", "request_number"), ("invoice", "amount_requested"), ("applied", "pay_link"), ("request", "notes")],
)
def test_each_kind_of_email_takes_only_its_own_merge_fields(app, kind, field):
    with app.app_context(), pytest.raises(ServiceError, match=f"unknown merge field “{field}”"):
        save_template(None, {"name": "Mixed up", "kind": kind, "subject": "Hello", "body": f"{{{{ {field} }}}}"})


def test_the_firms_own_invoice_and_notice_templates_are_the_ones_sent(app, client, auth, mailbox):
    with app.app_context():
        setup = gen_firm()
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        db.session.commit()
        admin = gen_user("admin")

    auth.login_as(admin)
    # The admin writes the firm's own invoice and scheduled-notice templates; the preview follows the kind.
    preview = text(
        post(client, "/settings/templates/preview", {"kind": "invoice", "subject": "x", "body": "{{ invoice_lines }}"})
    )
    assert "Drafting the statement of claim" in preview and "{{ invoice_number }}" in preview
    for kind, subject, body in [
        ("invoice", "Our bill {{ invoice_number }}", "Hi {{ client_name }}, {{ amount_due }} please: {{ pay_link }}"),
        ("scheduled", "Heads up: {{ amount_applied }}", "On {{ transfer_date }}. Object here: {{ dispute_link }}"),
    ]:
        response = post(
            client, "/settings/templates/new", {"name": f"Ours {kind}", "kind": kind, "subject": subject, "body": body}
        )
        assert response.status_code == 303, text(response)
        with app.app_context():
            template = db.session.scalar(db.select(EmailTemplate).where(EmailTemplate.name == f"Ours {kind}"))
            template_id = template.id
        assert post(client, f"/settings/templates/{template_id}/default").status_code == 303
    with app.app_context():
        notice_period(5)
        retainer(setup, 50_000)
        invoice_id = invoice_for(setup, 100, 20_000)
        apply(setup, invoice_id, 10_000)
        deliver_due()
    invoice_email, notice = mailbox.to("ada@example.com")[-2:]
    assert invoice_email["Subject"] == "Our bill INV-000001"
    # Written when it went: the $100 from trust on notice is no longer asked of the client.
    assert "Hi Ada" in mailbox.text(invoice_email) and "$100.00 please: http://localhost/pay/" in mailbox.text(
        invoice_email
    )
    assert notice["Subject"] == "Heads up: $100.00"
    assert "Object here: http://localhost/notice/" in mailbox.text(notice)
    assert '<a href="http://localhost/notice/' in mailbox.html(notice)


@pytest.mark.parametrize(
    ("kind", "field"), [("request", "pay_link"), ("invoice", "pay_link"), ("scheduled", "dispute_link")]
)
def test_a_live_link_may_go_in_the_body_only(app, kind, field):
    """The subject is shown on staff pages and kept after the email went; only the body's link is cut out."""
    with app.app_context(), pytest.raises(ServiceError, match=f"The subject may not hold the link “{field}”"):
        save_template(None, {"name": "Linky", "kind": kind, "subject": f"Pay: {{{{ {field} }}}}", "body": "Hello"})


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_two_requests_sent_at_once_on_a_new_firm_share_one_default_template(app):
    """Neither send finds the built-in template yet; both make it, once, and neither is refused with a 500."""

    def send_it(request_id, user_id):
        return lambda: (
            request_service.send_request(db.session.get(TrustRequest, request_id), db.session.get(User, user_id)).id
        )

    with app.app_context():
        setup = gen_firm()
        pairs = [(gen_request(setup), gen_request(setup)) for _ in range(5)]
    for first, second in pairs:
        with app.app_context():  # a firm whose templates were never made
            db.session.execute(delete(OutboxMessage))
            db.session.execute(delete(EmailTemplate))
            db.session.commit()
        assert failures(at_once(app, [send_it(first, setup.lawyer), send_it(second, setup.lawyer)])) == []
        with app.app_context():
            kinds = db.session.scalars(select(EmailTemplate.kind).where(EmailTemplate.is_default)).all()
            assert sorted(kinds) == sorted(set(kinds)) and "request" in kinds
