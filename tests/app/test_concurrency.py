"""Numbers handed out under load: never the same one twice."""

import threading

import pytest

from tests.conftest import ON_POSTGRES
from tests.dates import days_ago
from tests.factories import gen_contact, gen_user
from trustweb.extensions import db
from trustweb.models import Counter, Matter
from trustweb.services.clients import save_matter


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrent writers need PostgreSQL")
def test_matters_opened_at_the_same_moment_get_different_numbers(app):
    with app.app_context():
        lawyer, contact = gen_user("lawyer"), gen_contact()
    start = threading.Barrier(8)
    errors = []
    opened = days_ago(5)

    def open_matter():
        with app.app_context():
            try:
                start.wait()
                save_matter(
                    None,
                    {
                        "client_id": contact.id,
                        "lawyer_id": lawyer.id,
                        "description": "Rush",
                        "opened_on": opened,
                    },
                )
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=open_matter) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        numbers = sorted(db.session.scalars(db.select(Matter.number)))
        assert numbers == [f"{opened.year}-{n:04d}" for n in range(1, 9)]
        assert db.session.get(Counter, f"matter-{opened.year}").last_value == 8


def test_two_admins_disabling_each_other_at_once_leave_one_admin(app):
    """Each may disable the other, but not both: the firm always keeps an administrator."""
    from tests.conftest import AuthActions, post

    with app.app_context():
        first, second = gen_user("admin"), gen_user("admin")
    clients = {user.id: app.test_client() for user in (first, second)}
    for user in (first, second):
        AuthActions(clients[user.id]).login_as(user)
    start = threading.Barrier(2)
    statuses = []

    def disable(client, target):
        start.wait()
        statuses.append(post(client, f"/settings/users/{target.id}/active", follow_redirects=True))

    threads = [
        threading.Thread(target=disable, args=(clients[first.id], second)),
        threading.Thread(target=disable, args=(clients[second.id], first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        from trustweb.models import User

        active_admins = db.session.scalars(db.select(User).where(User.role == "admin", User.active)).all()
        assert len(active_admins) == 1
    pages = " ".join(r.get_data(as_text=True) for r in statuses)
    assert "The firm needs at least one active administrator." in pages or "Sign in to" in pages


def test_the_last_admin_cannot_be_disabled_by_anyone(app):
    from trustweb.models import User
    from trustweb.refusals import ServiceError
    from trustweb.services.users import set_active, update_user

    with app.app_context():
        admin, lawyer = gen_user("admin"), gen_user("lawyer")
        invited = User(email="new-admin@firm.example.com", name="Invited", role="admin")  # no password yet
        db.session.add(invited)
        db.session.commit()
        admin, lawyer = db.session.get(User, admin.id), db.session.get(User, lawyer.id)
        with pytest.raises(ServiceError, match="at least one active administrator"):
            set_active(admin, False, acting_user=lawyer)
        db.session.rollback()
        with pytest.raises(ServiceError, match="at least one active administrator"):
            update_user(admin, name=admin.name, role="staff", acting_user=lawyer)
        db.session.rollback()
        assert db.session.get(User, admin.id).active and db.session.get(User, admin.id).role == "admin"


def test_a_get_reads_without_the_write_lock_and_writes_only_in_a_transaction_of_its_own(app):
    """SQLite cannot upgrade a read transaction to a write once another writer committed: a GET that must write
    (a pay link's first view) ends its read and begins a write transaction, IMMEDIATE."""
    from trustweb.database import may_write, write_transaction

    with app.test_request_context("/pay/some-token", method="GET"):
        assert not may_write()
        with write_transaction():
            assert may_write()
        assert not may_write()
    with app.test_request_context("/settings/templates", method="GET"):
        assert not may_write()
    with app.test_request_context("/bills/", method="POST"):
        assert may_write()
