from wtforms import EmailField, Form, HiddenField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Optional, Regexp

from trustweb.forms import BaseForm, IsoDateField, email_validator
from trustweb.pay.forms import CardFields
from trustweb.services.combined_checkout import INVOICE, TRUST

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


class PayBothForm(BaseForm):
    """The combined checkout of an invoice and a trust request: the amount the page showed for each (what is
    charged, never more than is due), and one checkout key for the two payments."""

    checkout = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,48}$")])
    invoice_amount = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,12}$")])
    trust_amount = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,12}$")])
    email = EmailField("Email for your receipts", validators=[Optional(), Length(max=254), email_validator()])

    def amounts(self):
        return {INVOICE: int(self.invoice_amount.data), TRUST: int(self.trust_amount.data)}


class PayBothCardForm(CardFields, PayBothForm):
    """The same with one card for both charges (the test processor)."""
