"""Numbers handed out under load: never the same one twice."""

import threading
from datetime import date

import pytest

from tests.conftest import ON_POSTGRES
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
                        "opened_on": date(2026, 11, 25),
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
        assert numbers == [f"2026-{n:04d}" for n in range(1, 9)]
        assert db.session.get(Counter, "matter-2026").last_value == 8
