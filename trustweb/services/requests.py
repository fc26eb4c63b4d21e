"""Trust requests: create, edit, approve, send, remind, void; and the pay links that go with them.

A pay link's token is 192 random bits; only its SHA-256 is stored (PayLink),
so the database never holds a usable link. A request can have several links
(the emailed one, one copied for a text message); revoking ends them all.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from flask import url_for
from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.money import format_cents
from trustweb.models import (
    AccountKind,
    AuditEvent,
    Contact,
    Counter,
    FirmSettings,
    Invoice,
    JournalEntry,
    Matter,
    MatterStatus,
    OutboxMessage,
    Payable,
    PayLink,
    RequestStatus,
    Role,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.models.requests import OUTSTANDING, LinkState
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services import templates as email_templates
from trustweb.services.portal import with_portal_note
from trustweb.services.sessions import token_hash
from trustweb.services.trust import firm_today, holder_for
from trustweb.urls import external_url

FIELDS = (
    "number",
    "contact_id",
    "matter_id",
    "bank_account_id",
    "amount_cents",
    "paid_cents",
    "issued_on",
    "due_on",
    "message",
    "template_id",
    "allow_partial",
    "minimum_cents",
    "recipients",
    "cc",
    "status",
)


def snapshot(request: TrustRequest) -> dict[str, Any]:
    return audit.snapshot(request, FIELDS)


def _check(values: Mapping[str, Any]) -> None:
    contact, matter, account = values["contact"], values["matter"], values["account"]
    if contact is None:
        raise ServiceError("Choose the client.")
    holder_for(contact, matter)
    if account is None or account.kind != AccountKind.TRUST or not account.active:
        raise ServiceError("Choose an open trust account.")
    if matter is not None and matter.status != MatterStatus.OPEN:
        raise ServiceError(f"Matter {matter.number} is closed; reopen it to ask for money.")
    rules.check_amount(values["amount_cents"])
    minimum = values.get("minimum_cents")
    if minimum is not None:
        if not values["allow_partial"]:
            raise ServiceError("A minimum payment only applies when partial payments are allowed.")
        if minimum > values["amount_cents"]:
            raise ServiceError("The minimum payment cannot be more than the amount requested.")
    if values["due_on"] is not None and values["due_on"] < values["issued_on"]:
        raise ServiceError("The due date cannot be before the issue date.")


def _apply(request: TrustRequest, values: Mapping[str, Any]) -> None:
    request.contact_id = values["contact"].id
    request.matter_id = values["matter"].id if values["matter"] is not None else None
    request.bank_account_id = values["account"].id
    request.template_id = values["template"].id if values.get("template") is not None else None
    for key in ("amount_cents", "issued_on", "due_on", "message", "allow_partial", "minimum_cents"):
        setattr(request, key, values[key])
    request.recipients = ",".join(values["recipients"])
    request.cc = ",".join(values["cc"]) or None


def create_request(
    values: Mapping[str, Any], user: User, *, commit: bool = True, noted: Mapping[str, Any] | None = None
) -> TrustRequest:
    """A new draft request; numbered TR-000001 onward (the caller commits when not `commit`: a plan's instalment
    is made with its request in one transaction). `noted` is added to its audit event (what made it)."""
    _check(values)
    request = TrustRequest(
        status=RequestStatus.DRAFT, paid_cents=0, created_by_id=user.id, replenishes=values.get("replenishes", False)
    )
    _apply(request, values)
    request.number = f"TR-{Counter.next_value('trust_request'):06d}"
    db.session.add(request)
    db.session.flush()
    audit.record("request.created", request, after={**snapshot(request), **(noted or {})}, user=user)
    if commit:
        db.session.commit()
    return request


FORM_KEY = "form_key"  # the name the request form's key is recorded under in `request.created`
# Recorded in `request.created` when staff pressed Save and send but the firm has a lawyer approve their requests
# first: approve() then sends it (the promise the form makes). An edit of such a draft records it again in its
# `request.updated` (true for Save and send, false for Save: kept a draft); the latest of these events is what counts.
SEND_ON_APPROVAL = "send_on_approval"


@dataclass(frozen=True)
class Made:
    """What the request form's Save draft or Save and send did: the request, and whether it was `sent`, `waits`
    for a lawyer's approval (and was not sent), or was made `earlier` by the same form (a double click)."""

    request: TrustRequest
    sent: bool = False
    waits: bool = False
    earlier: bool = False
    not_sent: str | None = None  # why a saved request could not be sent (no email address, say)


def make_request(values: Mapping[str, Any], user: User, *, key: str | None, send: bool) -> Made:
    """The request form's new request, and with `send` its email queued as Send does (send_request), unless the
    firm has a lawyer approve this user's requests first. The form's `key` is recorded in `request.created`; the
    form posted again (a double click) finds the request it made and neither makes nor sends another."""
    contact = values["contact"]
    if key is not None and contact is not None:
        # Two posts of one form wait here for each other; the second then finds the first's request.
        db.session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update(key_share=True))
        earlier = _made_with(contact, key)
        if earlier is not None:
            return Made(earlier, earlier=True)
    waits = send and waits_for_approval(user)
    noted = {**({FORM_KEY: key} if key is not None else {}), **({SEND_ON_APPROVAL: True} if waits else {})}
    request = create_request(values, user, noted=noted or None)
    if not send:
        return Made(request)
    if waits:
        return Made(request, waits=True)
    try:
        send_request(request, user)
    except ServiceError as error:  # the draft is saved (committed); it says why it was not sent
        db.session.rollback()
        return Made(db.session.get(TrustRequest, request.id), not_sent=str(error))  # type: ignore[arg-type]
    return Made(request, sent=True)


def _made_with(contact: Contact, key: str) -> TrustRequest | None:
    """The request this form's key made for the contact (within the day), if any."""
    made = select(TrustRequest).where(
        TrustRequest.contact_id == contact.id, TrustRequest.created_at >= utcnow() - timedelta(days=1)
    )
    return audit.made_with(made, "request.created", FORM_KEY, key)


def lock(request: TrustRequest) -> TrustRequest:
    """The request's row, locked and re-read: every change of status or amount paid goes through here."""
    return db.session.execute(
        select(TrustRequest)
        .where(TrustRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def update_request(request: TrustRequest, values: Mapping[str, Any], user: User, *, send: bool = False) -> TrustRequest:
    """Change a draft; anything sent can only be voided or sent again. A draft that waits for a lawyer's approval
    again is sent on approval only when saved with Save and send (`send`); plain Save keeps it a draft."""
    request = lock(request)
    if not request.is_editable:
        raise ServiceError(f"{request.number} is {request.status_label.lower()}; only drafts can be changed.")
    if request.paid_cents and values["amount_cents"] < request.paid_cents:
        raise ServiceError(
            f"{format_cents(request.paid_cents, request.bank_account.currency)} has already been paid; "
            "ask for at least that."
        )
    _check(values)
    before = snapshot(request)
    _apply(request, values)
    request.approved_by_id = request.approved_at = None  # a changed request is approved again
    db.session.flush()
    after = snapshot(request)
    if needs_approval(request):
        after[SEND_ON_APPROVAL] = send
    audit.record("request.updated", request, before=before, after=after, user=user)
    db.session.commit()
    return request


def needs_approval(request: TrustRequest) -> bool:
    """Staff requests wait for a lawyer when the firm asks for approval."""
    return (
        FirmSettings.get().require_approval
        and request.created_by.role == Role.STAFF
        and request.approved_by_id is None
        and request.status == RequestStatus.DRAFT
    )


def waits_for_approval(user: User) -> bool:
    """Whether a request this user makes waits for a lawyer's approval (needs_approval(), before it is made)."""
    return FirmSettings.get().require_approval and user.role == Role.STAFF


@dataclass(frozen=True)
class Approved:
    """What Approve did: the request, and whether it was also sent (its maker pressed Save and send), or why not."""

    request: TrustRequest
    sent: bool = False
    not_sent: str | None = None


def approve(request: TrustRequest, user: User) -> Approved:
    """A lawyer approves a staff member's draft; one made with Save and send is then sent as Send does (queued in
    the outbox, audited as sent by the approver). The approval stands (committed) when the sending is refused."""
    request = lock(request)
    if user.role not in (Role.ADMIN, Role.LAWYER):
        raise ServiceError("Only a lawyer or an admin approves trust requests.")
    if request.status != RequestStatus.DRAFT:
        raise ServiceError(f"{request.number} has already gone out.")
    if request.approved_by_id is not None:
        raise ServiceError(f"{request.number} was already approved by {request.approved_by.name}.")
    request.approved_by_id, request.approved_at = user.id, utcnow()
    send = sends_on_approval(request)
    audit.record("request.approved", request, after={"approved_by": user.email, "sends": send}, user=user)
    db.session.commit()
    if not send:
        return Approved(request)
    try:
        send_request(request, user)
    except ServiceError as error:  # approved all the same; it says why it was not sent
        db.session.rollback()
        return Approved(db.session.get(TrustRequest, request.id), not_sent=str(error))  # type: ignore[arg-type]
    return Approved(request, sent=True)


def sends_on_approval(request: TrustRequest) -> bool:
    """Whether approving the request also sends it: it was last saved with Save and send while it waited for approval
    (its latest `request.created` or `request.updated` says so; an edit saved with plain Save says not)."""
    after = db.session.scalar(
        select(AuditEvent.after)
        .where(
            AuditEvent.object_type == "TrustRequest",
            AuditEvent.object_id == str(request.id),
            AuditEvent.action.in_(("request.created", "request.updated")),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return bool(json.loads(after or "{}").get(SEND_ON_APPROVAL))


def new_link(
    payable: Payable, user: User | None = None, *, lifetime: timedelta | None = None, external: bool = True
) -> str:
    """A fresh pay link for a trust request or invoice; returns its URL (the only time the token exists in full),
    or only its path when not `external`. It lasts the firm's pay-link days unless given a `lifetime`."""
    token = secrets.token_urlsafe(24)
    db.session.add(
        PayLink(
            trust_request_id=None if payable.is_invoice else payable.id,
            invoice_id=payable.id if payable.is_invoice else None,
            token_hash=token_hash(token),
            expires_at=utcnow() + (lifetime or timedelta(days=FirmSettings.get().pay_link_days)),
            created_by_id=user.id if user else None,
        )
    )
    return external_url("pay.show", token=token) if external else url_for("pay.show", token=token)


def merge_values(request: TrustRequest, link_url: str) -> dict[str, str]:
    return _merge(
        contact_name=request.contact.name,
        amount_due=format_cents(request.due_cents, request.currency),
        amount_requested=format_cents(request.amount_cents, request.currency),
        due_on=request.due_on,
        matter=request.matter,
        lawyer=request.lawyer,
        link_url=link_url,
        number=request.number,
        message=request.message,
    )


def _merge(
    *,
    contact_name: str,
    amount_due: str,
    amount_requested: str,
    due_on: date | None,
    matter: Matter | None,
    lawyer: User,
    link_url: str,
    number: str,
    message: str | None,
) -> dict[str, str]:
    return {
        "client_name": contact_name,
        "amount_due": amount_due,
        "amount_requested": amount_requested,
        "due_date": due_on.strftime("%B %-d, %Y") if due_on else "on receipt",
        "matter": f"{matter.number} · {matter.description}" if matter else "funds held for you in trust",
        "firm_name": FirmSettings.get().firm_name,
        "lawyer": lawyer.name,
        "pay_link": link_url,
        "request_number": number,
        "message": message or "",
    }


# In a preview, where the request is not made yet: what stands for its link and number.
PREVIEW_LINK = "(the client's own pay link, made when the request is sent)"
PREVIEW_NUMBER = "TR-…"


def preview_email(values: Mapping[str, Any], user: User) -> tuple[str, str, Markup]:
    """(subject, text, html) of the email a request made from these form values would send, writing nothing; what
    is not filled in yet is named in brackets."""
    contact, matter, account = values["contact"], values["matter"], values["account"]
    cents = values["amount_cents"]
    amount = format_cents(cents, account.currency) if cents is not None and account is not None else "(the amount)"
    merged = _merge(
        contact_name=contact.name if contact is not None else "(the client)",
        amount_due=amount,
        amount_requested=amount,
        due_on=values["due_on"],
        matter=matter,
        lawyer=matter.lawyer if matter is not None else user,
        link_url=PREVIEW_LINK,
        number=PREVIEW_NUMBER,
        message=values["message"],
    )
    email = email_templates.preview("request", merged, values.get("template"))
    return with_portal_note(contact, email) if contact is not None else email


def request_email(request: TrustRequest, kind: str, link_url: str) -> tuple[str, str, Markup]:
    """(subject, text, html) of a request or reminder email around its pay link, with today's figures."""
    template = request.template if kind == "request" else None
    return with_portal_note(request.contact, email_templates.fill(kind, merge_values(request, link_url), template))


def _queue_email(request: TrustRequest, kind: str, link_url: str) -> OutboxMessage:
    if not request.recipient_list:
        raise ServiceError(f"{request.number} has no email recipient; add the client's email address.")
    subject, text, html = request_email(request, kind, link_url)
    return mail.queue(
        kind,
        request.recipient_list,
        subject,
        text,
        html,
        cc=request.cc_list,
        about=request,
        reply_to=mail.reply_to(request),
        link_url=link_url,
    )


def send_request(request: TrustRequest, user: User) -> OutboxMessage:
    """Email the request with a new pay link (a draft becomes sent); the email is queued in the outbox."""
    request = lock(request)
    if not request.is_open:
        raise ServiceError(f"{request.number} is {request.status_label.lower()}; it cannot be sent.")
    if needs_approval(request):
        raise ServiceError(f"{request.number} is waiting for a lawyer's approval before it can be sent.")
    before = request.status
    message = _queue_email(request, "request", new_link(request, user))
    if request.status == RequestStatus.DRAFT:
        request.status = RequestStatus.SENT
    request.sent_at = utcnow()
    db.session.flush()
    audit.record(
        "request.sent",
        request,
        before={"status": before},
        after={"status": request.status, "to": request.recipients, "cc": request.cc},
        user=user,
    )
    db.session.commit()
    return message


def copy_link(request: TrustRequest, user: User) -> str:
    """A new pay link to share another way (a text message, a letter)."""
    request = lock(request)
    if not request.is_open:
        raise ServiceError(f"{request.number} is {request.status_label.lower()}; it takes no more payments.")
    if needs_approval(request):
        raise ServiceError(f"{request.number} is waiting for a lawyer's approval.")
    url = new_link(request, user)
    if request.status == RequestStatus.DRAFT:
        request.status = RequestStatus.SENT
        request.sent_at = utcnow()
    audit.record("request.link_created", request, after={"status": request.status}, user=user)
    db.session.commit()
    return url


def takes_printed_link(payable: Payable) -> bool:
    """Whether a printed copy carries a pay link: gone out to the client, not paid, not void."""
    return payable.is_open and payable.status != payable.Status.DRAFT and payable.payable_cents > 0


def printed_link(payable: Payable, user: User) -> str | None:
    """A fresh pay link for a printed or downloaded copy of a request or invoice (its QR code and address), with
    the firm's usual lifetime, audited; None when nothing is to be paid on it (a draft, paid or void one).

    Tokens are stored hashed, so an earlier link cannot be printed again: each copy gets its own."""
    model = type(payable)
    payable = cast(
        Payable,
        db.session.execute(
            select(model).where(model.id == payable.id).with_for_update().execution_options(populate_existing=True)
        ).scalar_one(),
    )
    if not takes_printed_link(payable):
        db.session.commit()
        return None
    url = new_link(payable, user)
    what = "invoice" if payable.is_invoice else "request"
    audit.record(f"{what}.link_printed", payable, after={"lifetime_days": FirmSettings.get().pay_link_days}, user=user)
    db.session.commit()
    return url


def revoke_links(payable: Payable, user: User | None, reason: str = "revoked") -> int:
    """End every live pay link of the trust request or invoice (no commit)."""
    column = PayLink.invoice_id if payable.is_invoice else PayLink.trust_request_id
    revoked = rows_updated(
        update(PayLink).where(column == payable.id, PayLink.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if revoked:
        action = "invoice.links_revoked" if payable.is_invoice else "request.links_revoked"
        audit.record(action, payable, after={"links": revoked, "reason": reason}, user=user)
    return revoked


def revoke(request: TrustRequest, user: User) -> int:
    request = lock(request)
    count = revoke_links(request, user)
    if not count:
        raise ServiceError(f"{request.number} has no live pay link.")
    db.session.commit()
    return count


def void_request(request: TrustRequest, reason: str | None, user: User) -> TrustRequest:
    """Cancel a request: no more payments on it; money already paid stays in trust."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the request is being voided.")
    request = lock(request)
    if request.status == RequestStatus.VOID:
        raise ServiceError(f"{request.number} is already void.")
    if request.status == RequestStatus.PAID:
        raise ServiceError(f"{request.number} is paid; a paid request cannot be voided.")
    before = request.status
    request.status, request.void_reason, request.voided_at = RequestStatus.VOID, reason, utcnow()
    revoke_links(request, user, reason="voided")
    audit.record(
        "request.voided",
        request,
        before={"status": before},
        after={"status": RequestStatus.VOID, "reason": reason},
        user=user,
    )
    db.session.commit()
    return request


def link_for_token(token: str | None) -> PayLink | None:
    """The PayLink for a token from a URL, or None (the token is compared by hash only).

    Loaded with what the pay pages show of what it pays: a trust request's link in one SELECT with its request,
    client, matter and account; an invoice's (less often opened) with a few more.
    """
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(
        select(PayLink)
        .where(PayLink.token_hash == token_hash(token))
        .options(
            joinedload(PayLink.request).options(
                joinedload(TrustRequest.contact), joinedload(TrustRequest.matter), joinedload(TrustRequest.bank_account)
            )
        )
    )
    if link is not None and link.invoice_id is not None:
        # Loaded apart: joined above, it would cost every request's link too.
        invoice = db.session.get(
            Invoice,
            link.invoice_id,
            options=[
                joinedload(Invoice.contact),
                joinedload(Invoice.matter),
                joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account),
                selectinload(Invoice.lines),
                selectinload(Invoice.applications),
            ],
        )
        set_committed_value(link, "invoice", invoice)  # as if loaded with the link (nothing to save)
    return link


def link_state(link: PayLink | None) -> LinkState:
    """Whether a link can take a payment: open, or why not (unknown, revoked, expired, void, paid)."""
    if link is None:
        return LinkState.UNKNOWN
    payable = link.payable
    if payable.status == payable.Status.VOID:
        return LinkState.VOID
    if payable.status == payable.Status.PAID:
        return LinkState.PAID
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at <= utcnow():
        return LinkState.EXPIRED
    return LinkState.OPEN


def mark_viewed(request_id: int) -> bool:
    """Record the client's first opening of the link, and commit; False when it was already recorded.

    One conditional UPDATE, so two tabs record it once. The pay page calls it in a write transaction of its own
    (database.write_transaction), and only while the request it read was not viewed yet.
    """
    now = utcnow()
    changed = rows_updated(
        update(TrustRequest)
        .where(TrustRequest.id == request_id, TrustRequest.viewed_at.is_(None))
        .values(
            viewed_at=now,
            status=db.case(
                (TrustRequest.status == RequestStatus.SENT, RequestStatus.VIEWED), else_=TrustRequest.status
            ),
        )
    )
    if changed:
        audit.record("request.viewed", object_type="TrustRequest", object_id=request_id, after={"viewed_at": now})
    db.session.commit()
    return bool(changed)


def send_reminder(request: TrustRequest, user: User | None = None, today: date | None = None) -> OutboxMessage:
    """Queue a reminder with a fresh link; at most one a day per request."""
    today = today or firm_today()
    request = lock(request)
    if request.status not in OUTSTANDING:
        raise ServiceError(f"{request.number} is {request.status_label.lower()}; no reminder is sent.")
    if request.last_reminder_on == today:
        raise ServiceError(f"A reminder for {request.number} already went today.")
    message = _queue_email(request, "reminder", new_link(request, user))
    request.last_reminder_on = today
    audit.record("request.reminded", request, after={"on": today, "to": request.recipients}, user=user)
    db.session.commit()
    return message


def due_for_reminder(today: date) -> list[TrustRequest]:
    """Requests that should get a reminder today under the firm's settings (none while a payment plan pays it)."""
    from trustweb.services.plans import active_plan_exists_for_request

    firm = FirmSettings.get()
    candidates = db.session.scalars(
        select(TrustRequest)
        .where(
            TrustRequest.status.in_(OUTSTANDING),
            ~active_plan_exists_for_request(),
            TrustRequest.due_on.is_not(None),
            (TrustRequest.last_reminder_on.is_(None)) | (TrustRequest.last_reminder_on < today),
        )
        .order_by(TrustRequest.id)
    ).all()
    due = []
    for request in candidates:
        due_on = cast(date, request.due_on)  # selected IS NOT NULL
        days_left = (due_on - today).days
        last = request.last_reminder_on
        if days_left >= 0:
            window_start = due_on - timedelta(days=firm.remind_days_before)
            if (
                firm.remind_days_before
                and days_left <= firm.remind_days_before
                and (last is None or last < window_start)
            ):
                due.append(request)
        elif firm.remind_overdue_every and (
            last is None or last <= due_on or (today - last).days >= firm.remind_overdue_every
        ):
            due.append(request)
    return due


def queue_reminders(today: date | None = None) -> tuple[int, list[str]]:
    """The `remind` command: queue every reminder due today; returns (queued, refused messages)."""
    today = today or firm_today()
    queued = 0
    refused: list[str] = []
    for request in due_for_reminder(today):
        try:
            send_reminder(request, today=today)
            queued += 1
        except ServiceError as error:
            db.session.rollback()
            refused.append(str(error))
    return queued, refused
