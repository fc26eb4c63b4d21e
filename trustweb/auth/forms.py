from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from trustweb.forms import BaseForm, email_validator
from trustweb.services.users import MAX_PASSWORD, MIN_PASSWORD


class LoginForm(BaseForm):
    email = StringField(
        "Email",
        validators=[DataRequired("Enter your email."), Length(max=254), email_validator()],
        render_kw={"autocomplete": "username", "type": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this computer")


class SetPasswordForm(BaseForm):
    password = PasswordField(
        "New password",
        render_kw={"autocomplete": "new-password"},
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD, max=MAX_PASSWORD, message=f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
