"""A firm with an audit trail to read: a lawyer, an admin and a bookkeeper, and events of several kinds and days."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.dates import days_ago
from tests.factories import gen_contact, gen_matter, gen_user
from trustweb.extensions import db
from trustweb.services import audit


@dataclass(frozen=True)
class Office:
    lawyer: int
    admin: int
    bookkeeper: int
    staff: int
    matter: int
    contact: int


def event_on(days, action, obj=None, *, user=None, **fields):
    """An event recorded as if `days` ago (its moment moved back before it is written; its digest follows)."""
    event = audit.record(action, obj, user=user, **fields)
    if days:
        event.at = event.at - timedelta(days=days)
        event.digest = audit.digest(event)
    return event


@pytest.fixture
def office(app):
    """Last week a lawyer opened a matter; three days ago changed its description (a <script> in the old one);
    today the admin invited the bookkeeper. Each event committed on its own, as the app writes them."""
    with app.app_context():
        lawyer, admin = gen_user("lawyer", name="Lena Lawyer"), gen_user("admin", name="Ada Admin")
        bookkeeper, staff = gen_user("bookkeeper", name="Bo Books"), gen_user("staff", name="Sam Staff")
        contact = gen_contact("Grace Hughes")
        matter = gen_matter(client=contact, lawyer=lawyer, description="Purchase of 12 Elm St")
        db.session.commit()
        event_on(7, "matter.created", matter, user=lawyer, after={"number": matter.number, "description": "Purchase"})
        db.session.commit()
        event_on(
            3,
            "matter.updated",
            matter,
            user=lawyer,
            before={"description": "<script>alert('x')</script>", "status": "open"},
            after={"description": "Purchase of 12 Elm St", "status": "open"},
        )
        db.session.commit()
        event_on(0, "user.invited", bookkeeper, user=admin, after={"email": bookkeeper.email, "role": "bookkeeper"})
        db.session.commit()
        return Office(lawyer.id, admin.id, bookkeeper.id, staff.id, matter.id, contact.id)


def firm_day(days):
    """The firm's date `days` ago, as the date filter takes it."""
    return days_ago(days).isoformat()
