from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from trustweb.auth.permissions import requires
from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings, User
from trustweb.services import ServiceError
from trustweb.services import firm as firm_service
from trustweb.services import users as user_service
from trustweb.settings import bp
from trustweb.settings.forms import BankAccountForm, FirmSettingsForm, InviteForm, UserForm
from trustweb.views import get_or_404


def invite_link(token):
    return url_for("auth.accept", token=token, _external=True)


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
    if form.validate_on_submit():
        firm_service.update_settings(form.values())
        flash("Firm settings saved.", "success")
        return back("settings.firm")
    status = 422 if request.method == "POST" else 200
    return render_template("settings/firm.html", form=form), status


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
        user, token = user_service.invite_user(form.email.data, form.name.data, form.role.data)
    except ServiceError as error:
        return refuse(error, "settings.users")
    flash(f"{user.name} is invited. Send them this one-time link to set a password:", "success")
    flash(invite_link(token), "link")
    return back("settings.users")


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("manage_users")
def update_user(user_id):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        try:
            user_service.update_user(user, name=form.name.data, role=form.role.data, acting_user=current_user)
        except ServiceError as error:
            return refuse(error, "settings.update_user", user_id=user.id)
        flash(f"{user.name} saved.", "success")
        return back("settings.users")
    status = 422 if request.method == "POST" else 200
    return render_template("settings/user.html", user=user, form=form), status


@bp.post("/users/<int:user_id>/active")
@requires("manage_users")
def toggle_user(user_id):
    """Disable an enabled user, or enable a disabled one."""
    user = get_or_404(User, user_id)
    try:
        user_service.set_active(user, not user.active, acting_user=current_user)
    except ServiceError as error:
        return refuse(error, "settings.users")
    flash(f"{user.name} is {'enabled' if user.active else 'disabled'}.", "success")
    return back("settings.users")


@bp.post("/users/<int:user_id>/invite")
@requires("manage_users")
def reinvite(user_id):
    """A new invite link for someone who lost or let the old one expire."""
    user = get_or_404(User, user_id)
    try:
        token = user_service.reissue_invite(user)
    except ServiceError as error:
        return refuse(error, "settings.users")
    flash(f"A new invite link for {user.name} (the old one no longer works):", "success")
    flash(invite_link(token), "link")
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
    if form.validate_on_submit():
        try:
            account = firm_service.save_account(account, form.values())
        except ServiceError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
            return render_template("settings/account.html", form=form, account=account), 422
        flash(f"Account {account.name} saved.", "success")
        return back("settings.accounts")
    status = 422 if request.method == "POST" else 200
    return render_template("settings/account.html", form=form, account=account), status


@bp.post("/accounts/<int:account_id>/default")
@requires("manage_accounts")
def default_account(account_id):
    account = get_or_404(BankAccount, account_id)
    try:
        firm_service.make_default(account)
    except ServiceError as error:
        return refuse(error, "settings.accounts")
    flash(f"{account.name} is now the default {account.kind} account.", "success")
    return back("settings.accounts")


@bp.post("/accounts/<int:account_id>/active")
@requires("manage_accounts")
def toggle_account(account_id):
    """Close an open account, or reopen a closed one."""
    account = get_or_404(BankAccount, account_id)
    try:
        firm_service.set_account_active(account, not account.active)
    except ServiceError as error:
        return refuse(error, "settings.accounts")
    flash(f"{account.name} is {'open' if account.active else 'closed'}.", "success")
    return back("settings.accounts")
