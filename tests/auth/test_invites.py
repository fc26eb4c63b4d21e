"""An admin invites a colleague, who chooses a password from a one-time link."""

import re
from datetime import timedelta

import pytest

from tests.conftest import post
from tests.factories import PASSWORD, gen_user
from trustweb.extensions import db
from trustweb.models import User
from trustweb.models.base import utcnow
from trustweb.services.sessions import token_hash

LINK = re.compile(r'value="(https://trust\.firm\.example\.com/auth/invite/[^"]+)"')
BASE = "https://trust.firm.example.com"


@pytest.fixture(autouse=True)
def public_address(app):
    app.config["BASE_URL"] = BASE


@pytest.fixture
def admin(app):
    with app.app_context():
        return gen_user("admin")


def invite(client, **fields):
    data = {"name": "Nadia Costa", "email": "nadia@firm.example.com", "role": "bookkeeper", **fields}
    response = post(client, "/settings/users", data, follow_redirects=True)
    return response


def test_invited_bookkeeper_sets_a_password_and_signs_in(app, client, auth, admin):
    auth.login_as(admin)
    page = invite(client).get_data(as_text=True)
    # No mail server here: the invitation waits in the outbox and the admin is given the link to pass on.
    assert "An invitation for Nadia Costa waits in the Outbox: mail is not set up." in page
    link = LINK.search(page).group(1)
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="nadia@firm.example.com"))
        assert user.status == "invited" and user.role == "bookkeeper"
        token = link.rsplit("/", 1)[1]
        assert user.invite_token_hash == token_hash(token)  # only the hash is stored
        assert token not in user.invite_token_hash
    auth.logout()

    path = link.replace(BASE, "")
    assert "Welcome, Nadia Costa" in client.get(path).get_data(as_text=True)
    response = post(client, path, {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "Use 12 to 128 characters." in response.get_data(as_text=True)
    response = post(client, path, {"password": "a long new passphrase", "confirm": "a long new passphrase"})
    assert response.status_code == 303

    assert client.get(path).status_code == 404  # one time only
    assert auth.login("nadia@firm.example.com", "a long new passphrase").status_code == 303


def test_an_invited_user_cannot_sign_in_before_setting_a_password(app, client, auth, admin):
    auth.login_as(admin)
    invite(client)
    auth.logout()
    assert auth.login("nadia@firm.example.com", "").status_code == 422
    assert auth.login("nadia@firm.example.com", PASSWORD).status_code == 401


def test_expired_invite_link_says_so(app, client, auth, admin):
    auth.login_as(admin)
    link = LINK.search(invite(client).get_data(as_text=True)).group(1)
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="nadia@firm.example.com"))
        user.invite_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(link.replace(BASE, ""))
    assert response.status_code == 404
    assert "This invite link is not valid" in response.get_data(as_text=True)


def test_reissued_invite_replaces_the_old_link(app, client, auth, admin):
    auth.login_as(admin)
    old = LINK.search(invite(client).get_data(as_text=True)).group(1)
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).filter_by(email="nadia@firm.example.com"))
    new = LINK.search(post(client, f"/settings/users/{user_id}/invite", follow_redirects=True).get_data(as_text=True))
    assert new and new.group(1) != old
    assert client.get(old.replace(BASE, "")).status_code == 404
    assert client.get(new.group(1).replace(BASE, "")).status_code == 200


def test_inviting_an_existing_email_is_refused(app, client, auth, admin):
    auth.login_as(admin)
    page = invite(client, email=admin.email.upper()).get_data(as_text=True)
    assert "already exists" in page


def test_admin_changes_a_role(app, client, auth, admin):
    with app.app_context():
        staff = gen_user("staff")
    auth.login_as(admin)
    response = post(client, f"/settings/users/{staff.id}", {"name": staff.name, "role": "lawyer"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, staff.id).role == "lawyer"


def test_the_last_admin_cannot_be_demoted_or_disabled(app, client, auth, admin):
    with app.app_context():
        other = gen_user("admin")
    auth.login_as(admin)
    page = post(client, f"/settings/users/{admin.id}", {"name": admin.name, "role": "staff"}, follow_redirects=True)
    assert "You cannot change your own role." in page.get_data(as_text=True)
    page = post(client, f"/settings/users/{admin.id}/active", follow_redirects=True).get_data(as_text=True)
    assert "You cannot disable your own account." in page
    # Disabling the other admin is fine; then the signed-in admin is the last one.
    assert post(client, f"/settings/users/{other.id}/active").status_code == 303
    with app.app_context():
        assert db.session.get(User, admin.id).active and db.session.get(User, admin.id).role == "admin"
        assert not db.session.get(User, other.id).active


def test_bad_role_is_refused(app, client, auth, admin):
    with app.app_context():
        staff = gen_user("staff")
    auth.login_as(admin)
    response = post(client, f"/settings/users/{staff.id}", {"name": staff.name, "role": "superuser"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_invite_link_uses_the_public_address_not_the_host_header(app, admin):
    from trustweb.services.users import invite_user

    with app.test_request_context("/settings/users", base_url="http://evil.example.com"):
        _, link = invite_user("nadia@firm.example.com", "Nadia Costa", "bookkeeper", admin)
        assert link.startswith(f"{BASE}/auth/invite/")


def test_the_invitation_is_emailed_through_the_outbox(database, pg_schema, mailbox):
    """With a mail server: the link goes by email only (never through the admin's screen), replies to the admin."""
    from tests.conftest import AuthActions, built_app

    with built_app(database, pg_schema, BASE_URL=BASE, **mailbox.config()) as app, mailbox.serve(app):
        with app.app_context():
            admin = gen_user("admin")
        client = app.test_client()
        auth = AuthActions(client)
        auth.login_as(admin)
        page = invite(client).get_data(as_text=True)
        assert "An invitation for Nadia Costa is queued to nadia@firm.example.com" in page
        assert not LINK.search(page)
        [email] = mailbox.to("nadia@firm.example.com")
        assert email["Subject"] == "You are invited to Your Law Firm's TrustWeb"
        assert email["Reply-To"] == admin.email
        link = re.search(r"https://trust\.firm\.example\.com/auth/invite/\S+", mailbox.text(email)).group(0)
        auth.logout()
        assert "Welcome, Nadia Costa" in client.get(link.replace(BASE, "")).get_data(as_text=True)
        with app.app_context():
            from trustweb.models import OutboxMessage

            [stored] = db.session.scalars(db.select(OutboxMessage)).all()
            assert stored.kind == "invite" and link.rsplit("/", 1)[1] not in stored.text_body  # no live link kept
