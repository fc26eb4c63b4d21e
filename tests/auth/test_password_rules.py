"""A new password must not be easy to guess (NIST SP 800-63B): not a common one, not the person's email name or the
firm's name, not repeated or sequential characters. Checked wherever a password is set: the invite link, the
change-password page, the create-user command; the demo's password passes the same rules."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import post
from tests.factories import PASSWORD, gen_user
from trustweb.demo import DEMO_PASSWORD, DEMO_USERS
from trustweb.extensions import db
from trustweb.models import FirmSettings, User
from trustweb.passwords import common_passwords, weakness
from trustweb.services.users import invite_user

COMMON = "one of the most common passwords"
PERSONAL = "must not contain"
PREDICTABLE = "repeated or sequential characters"

WEAK = [
    ("aaaaaaaaaaaa", PREDICTABLE),
    ("123456789012", PREDICTABLE),
    ("987654321098", PREDICTABLE),
    ("abcdefghijkl", PREDICTABLE),
    ("qwertyuiop12", COMMON),
    ("qwerty123456", COMMON),
    ("zxcvbnm12345", COMMON),
    ("wertyuio9876", PREDICTABLE),
    ("abcabcabcabc", PREDICTABLE),
    ("ab12ab12ab12", PREDICTABLE),
    ("1qaz2wsx3edc", PREDICTABLE),
    ("unbelievable", COMMON),
    ("UNBELIEVABLE", COMMON),
    ("Password2024!", COMMON),
    ("!!Sunshine!!1984", COMMON),
    ("football12345", COMMON),
]
STRONG = [
    PASSWORD,
    "a new long passphrase",
    "long enough pass",
    "vR7#kq2!Lm9x",
    "amber lantern on the quay",
    "Otter-Ledger-Window-7",
]


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_a_guessable_password_is_refused_with_the_reason(password, reason):
    assert reason in (weakness(password) or "")


@pytest.mark.parametrize("password", STRONG)
def test_a_password_that_is_hard_to_guess_passes(password):
    assert weakness(password, email="nadia.costa@firm.example.com", firm_name="Hartwell & Okafor LLP") is None


@pytest.mark.parametrize(
    ("password", "word"),
    [
        ("nadia.costa loves cats", "nadiacosta"),
        ("Costa family holidays", "costa"),
        ("my hartwell account!", "hartwell"),
        ("OKAFOR rules the court", "okafor"),
        ("Hartwell&Okafor LLP 1", "hartwellokaforllp"),
        ("trustweb is our vault", "trustweb"),
    ],
)
def test_a_password_with_the_email_name_the_firm_or_the_app_in_it_is_refused(password, word):
    reason = weakness(password, email="Nadia.Costa@firm.example.com", firm_name="Hartwell & Okafor LLP")
    assert reason is not None and PERSONAL in reason and f"({word})" in reason


def test_generic_words_of_a_firm_name_are_not_held_against_a_password():
    assert weakness("your firm of choice 42", firm_name="Your Law Firm") is None
    assert "the firm's name" in weakness("yourlawfirm for ever", firm_name="Your Law Firm")


def test_the_list_of_common_passwords_is_shipped_and_read_once():
    assert len(common_passwords()) == 10_000
    assert {"password", "123456", "qwerty", "unbelievable"} <= common_passwords()


def test_the_demo_password_passes_the_rules_for_every_demo_user():
    for email, _name, _role in DEMO_USERS:
        assert weakness(DEMO_PASSWORD, email=email, firm_name="Hartwell & Okafor LLP") is None


@pytest.fixture
def firm(app):
    with app.app_context():
        settings = FirmSettings.get()
        settings.firm_name = "Hartwell & Okafor LLP"
        db.session.add(settings)
        db.session.commit()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaa", PREDICTABLE),
        ("123456789012", PREDICTABLE),
        ("Password2024!", COMMON),
        ("nadia's own secret", "must not contain your email address (nadia)"),
        ("Hartwell forever 1", "must not contain the firm&#39;s name (hartwell)"),
    ],
)
def test_an_invited_colleague_is_asked_for_a_better_password(app, client, firm, password, message):
    with app.app_context():
        user, link = invite_user("nadia@firm.example.com", "Nadia Costa", "bookkeeper")
        user_id = user.id
    response = post(client, urlsplit(link).path, {"password": password, "confirm": password})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).password_hash is None


def test_changing_to_a_common_password_is_refused(app, client, auth):
    with app.app_context():
        lawyer = gen_user("lawyer")
    auth.login_as(lawyer)
    data = {"current": PASSWORD, "password": "Football2024!", "confirm": "Football2024!"}
    response = post(client, "/auth/password", data)
    assert response.status_code == 422
    assert COMMON in response.get_data(as_text=True)
    auth.logout()
    assert auth.login(lawyer.email, PASSWORD).status_code == 303


def test_create_user_refuses_a_guessable_password(app, runner):
    result = runner.invoke(args=["trustweb", "create-user", "boss@firm.example.com", "--password", "aaaaaaaaaaaa"])
    assert result.exit_code != 0 and PREDICTABLE in result.output
    result = runner.invoke(
        args=["trustweb", "create-user", "boss@firm.example.com", "--password", "the boss of accounts"]
    )
    assert result.exit_code != 0 and "must not contain your email address (boss)" in result.output
