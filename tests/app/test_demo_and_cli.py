"""The demo firm and the administration commands."""

from sqlalchemy import func, select

from trustweb.demo import DEMO_PASSWORD, DEMO_USERS
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, FirmSettings, Matter, User


def counts():
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in (User, Contact, Matter, BankAccount)
    }


def test_demo_fills_a_believable_firm_once(app, runner):
    result = runner.invoke(args=["trustweb", "demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded." in result.output and DEMO_PASSWORD in result.output
    for email, _name, _role in DEMO_USERS:
        assert email in result.output
    with app.app_context():
        first = counts()
        assert db.session.get(FirmSettings, 1).firm_name == "Hartwell & Okafor LLP"
        assert first == {"User": 5, "Contact": 30, "Matter": 40, "BankAccount": 2}
        assert {u.role for u in db.session.scalars(select(User))} == {"admin", "lawyer", "bookkeeper", "staff"}
        accounts = db.session.scalars(select(BankAccount)).all()
        assert {(a.kind, a.is_default) for a in accounts} == {("trust", True), ("operating", True)}
        numbers = db.session.scalars(select(Matter.number)).all()
        assert len(set(numbers)) == 40
        contacts = db.session.scalars(select(Contact)).all()
        # Each client told apart in the lists and the request form's client search: no name or email twice.
        assert len({c.name for c in contacts}) == len({c.email for c in contacts}) == 30
    again = runner.invoke(args=["trustweb", "demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    with app.app_context():
        assert counts() == first


def test_demo_login_works(app, runner, auth):
    runner.invoke(args=["trustweb", "demo"])
    assert auth.login(DEMO_USERS[1][0], DEMO_PASSWORD).status_code == 303


def test_demo_refuses_a_database_with_real_data(app, runner):
    runner.invoke(
        args=[
            "trustweb",
            "create-user",
            "boss@firm.example.com",
            "--role",
            "admin",
            "--password",
            "a long enough password",
        ]
    )
    result = runner.invoke(args=["trustweb", "demo"])
    assert result.exit_code != 0 and "already holds real data" in result.output
    quiet = runner.invoke(args=["trustweb", "demo", "--first-run"])
    assert quiet.exit_code == 0 and "no demo data loaded" in quiet.output
    with app.app_context():
        assert counts()["Contact"] == 0


def test_create_user_asks_for_the_password(app, runner, auth):
    result = runner.invoke(
        args=["trustweb", "create-user", "Boss@Firm.example.com", "--role", "admin"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss@firm.example.com." in result.output
    assert auth.login("boss@firm.example.com", "a long enough password").status_code == 303


def test_create_user_refuses_a_short_password_and_a_duplicate(app, runner):
    short = runner.invoke(args=["trustweb", "create-user", "a@firm.example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    ok = runner.invoke(args=["trustweb", "create-user", "a@firm.example.com", "--password", "long enough pass"])
    assert ok.exit_code == 0
    again = runner.invoke(args=["trustweb", "create-user", "A@firm.example.com", "--password", "long enough pass"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_user_refuses_an_unknown_role(app, runner):
    result = runner.invoke(
        args=["trustweb", "create-user", "a@firm.example.com", "--role", "owner", "--password", "long enough pass"]
    )
    assert result.exit_code != 0


def test_demo_prints_a_portal_link_that_signs_the_client_in(app, runner):
    import re

    from tests.portal.steps import use_link

    result = runner.invoke(args=["trustweb", "demo"])
    match = re.search(
        r"Sign in to the client portal as (.+) \(.*\n\s+https?://[^/]+(/portal/sign-in/\S+)", result.output
    )
    assert match, result.output
    browser = app.test_client()
    assert use_link(browser, match.group(2)).status_code == 303
    home = browser.get("/portal/").get_data(as_text=True)
    assert f"Hello, {match.group(1)}" in home.replace("&#39;", "'") and "Pay" in home
