"""Trust request tests run against a real SMTP server on loopback."""

import pytest

from tests.conftest import make_config
from tests.mailbox import Mailbox
from trustweb import create_app
from trustweb.extensions import db


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def app(database, pg_schema, mailbox):
    """The app sending real email to the test mailbox; its base URL is the test client's host."""
    from tests.conftest import empty_tables

    uri, options = database
    app = create_app(make_config(uri, options, BASE_URL="http://localhost", **mailbox.config()))
    with app.app_context():
        if pg_schema is None:
            db.create_all()
        else:
            empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
