"""Steps the Outbox tests share: the firm's people, each with a browser of their own, requests emailed, the worker.

Call the gen_*/send_* steps inside an app context; the page steps take a test client.
"""

import html
import re
from dataclasses import dataclass

from sqlalchemy import select

from tests.dates import today
from tests.factories import TrustSetup, gen_user
from tests.requests.steps import gen_firm, gen_request
from trustweb.extensions import db
from trustweb.models import OutboxMessage, TrustRequest, User
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.delivery import deliver_due

LISTED = re.compile(r'<a href="/outbox/(\d+)">')


@dataclass(frozen=True)
class Office:
    """The firm's trust setup and one person in each role (ids)."""

    setup: TrustSetup
    lawyer: int
    admin: int
    bookkeeper: int
    staff: int

    def person(self, role):
        return getattr(self, role)


def gen_office():
    setup = gen_firm()
    people = {role: gen_user(role).id for role in ("admin", "bookkeeper", "staff")}
    return Office(setup, setup.lawyer, **people)


def send(office, **fields):
    """The lawyer makes a request and presses Send: its email is queued (the worker has not run); its id."""
    request_id = gen_request(office.setup, **fields)
    request_service.send_request(db.session.get(TrustRequest, request_id), db.session.get(User, office.lawyer))
    return request_id


def email_of(request_id, kind="request"):
    """The request's one email of this kind."""
    where = (OutboxMessage.trust_request_id == request_id, OutboxMessage.kind == kind)
    return db.session.scalars(select(OutboxMessage).where(*where)).one()


def worker_pass(app):
    """What the worker does with the outbox in one pass; its tally."""
    with app.app_context():
        return deliver_due()


def listed(response):
    """The ids of the emails a list of the Outbox shows, in its order."""
    return [int(found) for found in LISTED.findall(response.get_data(as_text=True))]


def text(response):
    """The page as a person reads it (&#39; is an apostrophe)."""
    return html.unescape(response.get_data(as_text=True))


def paid_by_wire(office, request_id, key):
    """The client wires the full amount and the lawyer records it: a receipt and the lawyer's notice are queued."""
    payment_service.record_manual_payment(
        db.session.get(TrustRequest, request_id),
        amount_cents=500_000,
        method="wire",
        received_on=today(),
        reference=key,
        payer="Ada Archer",
        cleared=True,
        idempotency_key=f"wire-{key}-0000000000",
        user=db.session.get(User, office.lawyer),
    )
