from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from trustweb.auth.permissions import requires
from trustweb.extensions import db
from trustweb.ledger.money import plain_cents
from trustweb.models import BankAccount, FirmSettings, User
from trustweb.refusals import ServiceError
from trustweb.services import firm as firm_service
from trustweb.services import mail as outbox
from trustweb.services import users as user_service
from trustweb.settings import bp
from trustweb.settings.forms import BankAccountForm, FirmSettingsForm, InviteForm, UserForm
from trustweb.views import button_action, form_page, get_or_404


def invitation_sent(user, link, what):
    """Say the invitation is on its way; without a mail server, hand the admin the link to pass on."""
    if outbox.mail_is_set_up():
        flash(f"{what} for {user.name} is queued to {user.email}; {outbox.when_it_goes()}.", "success")
    else:
        flash(f"{what} for {user.name} waits in the Outbox: mail is not set up. Pass them this link yourself:", "info")
        flash(link, "link")


def back(endpoint, **values):
    return redirect(url_for(endpoint, **values), 303)


def refuse(error, endpoint, **values):
    """A refused action: say why on the page it came from."""
    db.session.rollback()
    flash(str(error), "error")
    return back(endpoint, **values)


@bp.route("/", methods=["GET", "POST"])
@requires("manage_settings")
def firm():
    """The firm's name, contact details, time zone and currency."""
    settings = FirmSettings.get()
    form = FirmSettingsForm(obj=settings)
    if request.method == "GET":
        form.card_fee_percent.data = str(Decimal(settings.card_fee_basis_points) / 100)
        form.card_fee_fixed.data = plain_cents(settings.card_fee_fixed_cents)
    return form_page(
        form,
        "settings/firm.html",
        lambda: firm_service.update_settings(form.values()),
        lambda _: ("Firm settings saved.", url_for("settings.firm")),
    )


@bp.get("/users")
@requires("manage_users")
def users():
    all_users = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("settings/users.html", users=all_users, form=InviteForm())


@bp.post("/users")
@requires("manage_users")
def invite():
    """Invite a new user; the admin passes on the one-time link."""
    form = InviteForm()
    if not form.validate_on_submit():
        all_users = db.session.scalars(select(User).order_by(User.name)).all()
        return render_template("settings/users.html", users=all_users, form=form), 422
    try:
        user, link = user_service.invite_user(form.email.data, form.name.data, form.role.data, current_user)
    except ServiceError as error:
        return refuse(error, "settings.users")
    invitation_sent(user, link, "An invitation")
    return back("settings.users")


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("manage_users")
def update_user(user_id):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user)
    return form_page(
        form,
        "settings/user.html",
        lambda: user_service.update_user(user, name=form.name.data, role=form.role.data, acting_user=current_user),
        lambda saved: (f"{saved.name} saved.", url_for("settings.users")),
        user=user,
    )


@bp.post("/users/<int:user_id>/active")
@requires("manage_users")
def toggle_user(user_id):
    """Disable an enabled user, or enable a disabled one."""
    user = get_or_404(User, user_id)
    return button_action(
        lambda: user_service.set_active(user, not user.active, acting_user=current_user),
        lambda saved: f"{saved.name} is {'enabled' if saved.active else 'disabled'}.",
        url_for("settings.users"),
    )


@bp.post("/users/<int:user_id>/invite")
@requires("manage_users")
def reinvite(user_id):
    """A new invite link for someone who lost or let the old one expire."""
    user = get_or_404(User, user_id)
    try:
        link = user_service.reissue_invite(user, current_user)
    except ServiceError as error:
        return refuse(error, "settings.users")
    invitation_sent(user, link, "A new invitation (the old link no longer works)")
    return back("settings.users")


@bp.get("/accounts")
@requires("manage_accounts")
def accounts():
    all_accounts = db.session.scalars(
        select(BankAccount).order_by(BankAccount.active.desc(), BankAccount.kind.desc(), BankAccount.name)
    ).all()
    return render_template("settings/accounts.html", accounts=all_accounts)


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires("manage_accounts")
def create_account():
    return account_form(None)


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
@requires("manage_accounts")
def update_account(account_id):
    return account_form(get_or_404(BankAccount, account_id))


def account_form(account):
    """Create or edit a bank account."""
    form = BankAccountForm(obj=account)
    if request.method == "GET" and account is None:
        form.kind.data = "trust"
        form.currency.data = FirmSettings.get().currency
    return form_page(
        form,
        "settings/account.html",
        lambda: firm_service.save_account(account, form.values()),
        lambda saved: (f"Account {saved.name} saved.", url_for("settings.accounts")),
        account=account,
    )


@bp.post("/accounts/<int:account_id>/default")
@requires("manage_accounts")
def default_account(account_id):
    account = get_or_404(BankAccount, account_id)
    return button_action(
        lambda: firm_service.make_default(account),
        lambda saved: f"{saved.name} is now the default {saved.kind} account.",
        url_for("settings.accounts"),
    )


@bp.post("/accounts/<int:account_id>/active")
@requires("manage_accounts")
def toggle_account(account_id):
    """Close an open account, or reopen a closed one."""
    account = get_or_404(BankAccount, account_id)
    return button_action(
        lambda: firm_service.set_account_active(account, not account.active),
        lambda saved: f"{saved.name} is {'open' if saved.active else 'closed'}.",
        url_for("settings.accounts"),
    )
