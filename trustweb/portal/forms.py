from wtforms import Form, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from trustweb.forms import BaseForm, IsoDateField, email_validator

NOT_A_DATE = "“{value}” is not a date; use YYYY-MM-DD."


class SignInForm(BaseForm):
    email = StringField(
        "Your email address",
        validators=[DataRequired("Enter your email address."), Length(max=254), email_validator()],
        render_kw={"autocomplete": "email", "type": "email", "inputmode": "email"},
    )


class ButtonForm(BaseForm):
    """A button that changes something (sign in with a link, sign out, pay): only its CSRF token."""


class StatementForm(Form):
    """A statement's date range, from the query string (a GET form: nothing is changed, so no CSRF token)."""

    date_from = IsoDateField("From", name="from", message=NOT_A_DATE)
    date_to = IsoDateField("To", name="to", message=NOT_A_DATE)

    def validate_date_to(self, field):
        if self.date_from.data and field.data and self.date_from.data > field.data:
            raise ValidationError("The start date is after the end date.")

    def refusal(self):
        return next((field.errors[0] for field in self if field.errors), None)
