from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from trustweb.forms import BaseForm, email_validator
from trustweb.services.users import MAX_PASSWORD, MIN_PASSWORD


class LoginForm(BaseForm):
    email = StringField("Email", validators=[DataRequired("Enter your email."), Length(max=254), email_validator()])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD)])
    remember = BooleanField("Keep me signed in on this computer")


class SetPasswordForm(BaseForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD, max=MAX_PASSWORD, message=f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters."),
        ],
    )
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The two passwords differ.")])


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
