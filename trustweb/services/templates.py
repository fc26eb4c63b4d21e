"""Client email templates: merge fields rendered in a sandbox that cannot reach the app.

Two walls. A template may only contain text and merge fields such as
{{ client_name }} (optionally with a case filter): no attributes, calls, loops
or tags, checked on the parsed template before it is saved or used. And it is
rendered by Jinja's immutable sandbox with only the merge values in scope, so
even a template that got past the first wall sees no config, request or model.
"""

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import select

from trustweb.extensions import db
from trustweb.models import EmailTemplate, User
from trustweb.models.firm import insert_ignore
from trustweb.refusals import ServiceError
from trustweb.services import audit

COMMON_FIELDS = {
    "client_name": "The client's name",
    "matter": "Matter number and description",
    "firm_name": "Your firm's name",
    "lawyer": "The responsible lawyer",
}
REQUEST_FIELDS = {
    **COMMON_FIELDS,
    "amount_due": "Amount still due, e.g. $2,500.00",
    "amount_requested": "Amount asked for in the request",
    "due_date": "Due date, or “on receipt”",
    "pay_link": "The client's secure pay link",
    "request_number": "The request number, e.g. TR-000123",
    "message": "The message typed on the request",
}
INVOICE_FIELDS = {
    **COMMON_FIELDS,
    "invoice_number": "The invoice number, e.g. INV-000042",
    "invoice_total": "The invoice's total",
    "amount_due": "Amount still due on the invoice",
    "due_date": "Due date, or “on receipt”",
    "invoice_lines": "The invoice's lines, one per row: date, description, amount",
    "notes": "The notes typed on the invoice",
    "pay_link": "The client's secure pay link",
}
NOTICE_FIELDS = {
    **COMMON_FIELDS,
    "invoice_number": "The invoice number, e.g. INV-000042",
    "invoice_total": "The invoice's total",
    "amount_applied": "The amount taken from trust for the invoice",
    "amount_due": "Still due on the invoice afterwards",
    "trust_balance": "What remains in trust for the client afterwards",
}
SCHEDULED_FIELDS = {
    **NOTICE_FIELDS,
    "transfer_date": "The day the money will be taken from trust",
    "dispute_link": "The client's link to dispute the fee before then",
}
# The merge fields each kind of template may use, and the one field that is a link (made an anchor in HTML).
FIELDS = {
    "request": REQUEST_FIELDS,
    "reminder": REQUEST_FIELDS,
    "invoice": INVOICE_FIELDS,
    "applied": NOTICE_FIELDS,
    "scheduled": SCHEDULED_FIELDS,
}
LINK_FIELD = {"request": "pay_link", "reminder": "pay_link", "invoice": "pay_link", "scheduled": "dispute_link"}
FILTERS = ("upper", "lower", "title", "capitalize")
MAX_LENGTH = 5_000

DEFAULTS = {
    "request": (
        "Default trust request",
        "{{ firm_name }}: request for funds in trust ({{ request_number }})",
        "Dear {{ client_name }},\n\n"
        "{{ message }}\n\n"
        "We ask you to deposit {{ amount_due }} into our trust account for {{ matter }}, due {{ due_date }}. "
        "The money is held in trust for you and used only as the law allows.\n\n"
        "Pay securely online: {{ pay_link }}\n\n"
        "If you would rather pay by wire or cheque, reply to this email and we will send instructions.\n\n"
        "Kind regards,\n{{ lawyer }}\n{{ firm_name }}",
    ),
    "reminder": (
        "Default reminder",
        "Reminder: {{ amount_due }} due {{ due_date }} ({{ request_number }})",
        "Dear {{ client_name }},\n\n"
        "This is a friendly reminder that {{ amount_due }} is due {{ due_date }} for {{ matter }}.\n\n"
        "Pay securely online: {{ pay_link }}\n\n"
        "If you have already paid, thank you, and please ignore this message.\n\n"
        "Kind regards,\n{{ lawyer }}\n{{ firm_name }}",
    ),
    "invoice": (
        "Default invoice",
        "{{ firm_name }}: invoice {{ invoice_number }} for {{ invoice_total }}",
        "Dear {{ client_name }},\n\n"
        "Please find our invoice {{ invoice_number }} for {{ matter }}:\n\n"
        "{{ invoice_lines }}\n\n"
        "Total {{ invoice_total }}, due {{ due_date }}.\n\n"
        "{{ notes }}\n\n"
        "Pay securely online: {{ pay_link }}\n\n"
        "Kind regards,\n{{ lawyer }}\n{{ firm_name }}",
    ),
    "applied": (
        "Default notice: trust funds applied",
        "{{ firm_name }}: {{ amount_applied }} paid from your trust funds ({{ invoice_number }})",
        "Dear {{ client_name }},\n\n"
        "We have applied {{ amount_applied }} of the funds we hold in trust for you to our invoice "
        "{{ invoice_number }} ({{ matter }}).\n\n"
        "Still due on the invoice: {{ amount_due }}.\n"
        "Remaining in trust for you: {{ trust_balance }}.\n\n"
        "If you have any question about this, reply to this email.\n\n"
        "Kind regards,\n{{ lawyer }}\n{{ firm_name }}",
    ),
    "scheduled": (
        "Default notice: trust funds to be applied",
        "{{ firm_name }}: {{ amount_applied }} to be paid from your trust funds ({{ invoice_number }})",
        "Dear {{ client_name }},\n\n"
        "On {{ transfer_date }} we will apply {{ amount_applied }} of the funds we hold in trust for you to our "
        "invoice {{ invoice_number }} ({{ matter }}).\n\n"
        "Still due on the invoice afterwards: {{ amount_due }}.\n"
        "Remaining in trust for you afterwards: {{ trust_balance }}.\n\n"
        "If you dispute this fee, tell us before then here: {{ dispute_link }}\n\n"
        "Kind regards,\n{{ lawyer }}\n{{ firm_name }}",
    ),
}

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def check_template(source: str, what: str = "template", kind: str = "request") -> None:
    """Refuse anything but text and the kind's merge fields, with a message that says what to fix."""
    if len(source) > MAX_LENGTH:
        raise ServiceError(f"The {what} is too long (at most {MAX_LENGTH:,} characters).")
    try:
        tree = _env.parse(source)
    except TemplateError as error:
        raise ServiceError(
            f"The {what} cannot be read: {error.message}. Write merge fields as {{{{ client_name }}}}."
        ) from error
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            raise ServiceError(f"The {what} may only contain text and merge fields such as {{{{ client_name }}}}.")
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                continue
            _check_field(node, what, FIELDS[kind])


def _check_field(node: nodes.Node, what: str, fields: Mapping[str, str]) -> None:
    while isinstance(node, nodes.Filter) and node.node is not None:
        if node.name not in FILTERS or node.args or node.kwargs:
            raise ServiceError(f"The {what} uses “{node.name}”; only {', '.join(FILTERS)} may follow a merge field.")
        node = node.node
    if not isinstance(node, nodes.Name):
        raise ServiceError(f"The {what} may only use merge fields by name, such as {{{{ client_name }}}}.")
    if node.name not in fields:
        raise ServiceError(f"The {what} uses an unknown merge field “{node.name}”. Use one of: {', '.join(fields)}.")
    if what == "subject" and node.name in LINK_FIELD.values():
        # A subject is shown on staff pages and kept after sending; only the body's copy of a link is cut out.
        raise ServiceError(f"The subject may not hold the link “{node.name}”; put it in the body.")


def render(subject: str, body: str, values: Mapping[str, object], kind: str = "request") -> tuple[str, str, Markup]:
    """(subject, text body, html body) for the merge values; refuses a template check_template refuses."""
    check_template(subject, "subject", kind)
    check_template(body, "body", kind)
    text_values = {name: str(values.get(name, "")) for name in FIELDS[kind]}
    try:
        subject_text = _env.from_string(subject).render(text_values)
        text = _tidy(_env.from_string(body).render(text_values))
    except TemplateError as error:
        raise ServiceError(f"The template could not be filled in: {error}") from error
    # A subject is one line: a line break in it would let a field add mail headers.
    subject_text = " ".join(subject_text.split())[:300]
    link = text_values.get(LINK_FIELD.get(kind, ""))
    return subject_text, text, as_html(text, link)


def as_html(text: str, link: str | None = None) -> Markup:
    """The HTML part, built from the plain text: every piece of it escaped, the pay link made a link.

    Only our own markup (<p>, <br>, the anchor) is written as markup; the template's words and the merge
    values all pass through escape(), so nothing a template or a value holds becomes HTML.
    """
    anchor = Markup('<a href="{0}">{0}</a>').format(link) if link else None
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_html_line(line, link, anchor) for line in block.split("\n")))
        for block in blocks
    )


def _html_line(line: str, link: str | None, anchor: Markup | None) -> Markup:
    if anchor is None or not link or link not in line:  # (there is an anchor whenever there is a link)
        return escape(line)
    return anchor.join(escape(part) for part in line.split(link))


def _tidy(text: str) -> str:
    """Collapse the blank lines an empty field (no message, say) leaves behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def sample_values(firm_name: str) -> dict[str, str]:
    """Made-up values for the preview: every field of every kind."""
    return {
        "invoice_number": "INV-000042",
        "invoice_total": "$1,875.00",
        "invoice_lines": "  2026-11-02  Drafting the statement of claim  $1,500.00\n"
        "  2026-11-09  Court filing fee  $375.00",
        "notes": "Thank you for your instructions.",
        "amount_applied": "$1,875.00",
        "trust_balance": "$625.00",
        "transfer_date": "December 9, 2026",
        "dispute_link": "https://pay.example.com/notice/…",
        "client_name": "Jordan Avery",
        "amount_due": "$2,500.00",
        "amount_requested": "$2,500.00",
        "due_date": "December 15, 2026",
        "matter": "2026-0042 · Avery v. Northwind Logistics",
        "firm_name": firm_name,
        "lawyer": "Amelia Hartwell",
        "pay_link": "https://pay.example.com/pay/…",
        "request_number": "TR-000123",
        "message": "Thank you for instructing us. Please find our retainer request below.",
    }


def default_template(kind: str) -> EmailTemplate:
    """The firm's default template of this kind, created from the built-in text the first time it is needed.

    Two sends at once may both find none: each inserts it only if no default of the kind (and no template of that
    name) exists by then, and both then read the one that does."""
    query = select(EmailTemplate).where(EmailTemplate.kind == kind, EmailTemplate.is_default)
    template = db.session.scalar(query)
    name, subject, body = DEFAULTS[kind]
    for candidate in (name, f"{name} (built in)"):  # the second if staff already named a template so
        if template is not None:
            break
        db.session.execute(
            insert_ignore(EmailTemplate).values(name=candidate, kind=kind, subject=subject, body=body, is_default=True)
        )
        template = db.session.scalar(query)
    if template is None:
        raise ServiceError("The built-in email template could not be set up; rename the templates named like it.")
    return template


def fill(kind: str, values: Mapping[str, object], template: EmailTemplate | None = None) -> tuple[str, str, Markup]:
    """(subject, text, html) of the given template, or of the firm's default for the kind."""
    template = template or default_template(kind)
    return render(template.subject, template.body, values, kind)


def preview(kind: str, values: Mapping[str, object], template: EmailTemplate | None = None) -> tuple[str, str, Markup]:
    """fill(), writing nothing: without a chosen template, the firm's default if it has one, else the built-in
    text it would be made from."""
    template = template or db.session.scalar(
        select(EmailTemplate).where(EmailTemplate.kind == kind, EmailTemplate.is_default)
    )
    if template is not None:
        return render(template.subject, template.body, values, kind)
    _, subject, body = DEFAULTS[kind]
    return render(subject, body, values, kind)


def save_template(template: EmailTemplate | None, values: Mapping[str, Any], user: User | None = None) -> EmailTemplate:
    """Create or change a template after checking it renders."""
    if values["kind"] not in FIELDS:
        raise ServiceError("Choose what the template is used for.")
    check_template(values["subject"], "subject", values["kind"])
    check_template(values["body"], "body", values["kind"])
    name_taken = db.session.scalar(
        select(EmailTemplate.id).where(
            EmailTemplate.name == values["name"], EmailTemplate.id != (template and template.id)
        )
    )
    if name_taken:
        raise ServiceError(f"A template called “{values['name']}” already exists.")
    before = audit.snapshot(template, ("name", "kind", "subject", "body", "is_default")) if template else None
    if template is None:
        template = EmailTemplate(is_default=False)
        db.session.add(template)
    elif template.kind != values["kind"] and template.is_default:
        raise ServiceError("The default template keeps its kind; make another template the default first.")
    for key, value in values.items():
        setattr(template, key, value)
    db.session.flush()
    audit.record(
        "template.saved" if before else "template.created",
        template,
        before=before,
        after=audit.snapshot(template, ("name", "kind", "subject", "body", "is_default")),
        user=user,
    )
    db.session.commit()
    return template


def make_default(template: EmailTemplate, user: User | None = None) -> EmailTemplate:
    """Make this the template new requests (or reminders) use unless another is chosen."""
    current = db.session.scalar(
        select(EmailTemplate).where(EmailTemplate.kind == template.kind, EmailTemplate.is_default).with_for_update()
    )
    if current is not None and current.id != template.id:
        current.is_default = False
        db.session.flush()  # the partial unique index allows one default at a time
    template.is_default = True
    audit.record("template.made_default", template, after={"name": template.name, "kind": template.kind}, user=user)
    db.session.commit()
    return template
