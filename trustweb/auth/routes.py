from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from trustweb.auth import bp
from trustweb.auth.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from trustweb.auth.permissions import public, requires, safe_next
from trustweb.extensions import client_address, limiter
from trustweb.refusals import ServiceError
from trustweb.services.sessions import LoginRefused, TooManyAttempts, authenticate, end_session, start_session
from trustweb.services.users import accept_invite, change_password, user_for_invite
from trustweb.views import form_page, invalid


@bp.route("/login", methods=["GET", "POST"])
# Failed sign-ins are counted in the database (services/sessions.py); this only stops floods.
@limiter.limit("60 per minute", methods=["POST"])
@public
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, client_address())
        except (LoginRefused, TooManyAttempts) as error:
            form.form_errors.append(str(error))
            return invalid("auth/login.html", 429 if isinstance(error, TooManyAttempts) else 401, form=form)
        start_session(
            user, remember=form.remember.data, ip=client_address(), user_agent=request.headers.get("User-Agent")
        )
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"), 303)
    if request.method == "POST":
        return invalid("auth/login.html", form=form)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires("view")
def logout():
    """Sign out (POST only, so a link on another site cannot sign anyone out)."""
    end_session(current_user.session_token)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute")
@public
def accept(token):
    """An invited person chooses a password."""
    user = user_for_invite(token)
    if user is None:
        return render_template("auth/invite_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accept_invite(user, form.password.data)
        except ServiceError as error:
            form.password.errors.append(str(error))
            return invalid("auth/accept.html", form=form, user=user)
        if current_user.is_authenticated:
            end_session(current_user.session_token)
        logout_user()
        flash("Your password is set. Sign in to continue.", "success")
        return redirect(url_for("auth.login"), 303)
    if request.method == "POST":
        return invalid("auth/accept.html", form=form, user=user)
    return render_template("auth/accept.html", form=form, user=user)


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@requires("view")
def password():
    """Change one's own password."""
    form = ChangePasswordForm()

    def save():
        return change_password(current_user._get_current_object(), form.current.data, form.password.data)

    return form_page(
        form,
        "auth/password.html",
        save,
        lambda _: ("Your password is changed. Other devices are signed out.", url_for("main.dashboard")),
    )
