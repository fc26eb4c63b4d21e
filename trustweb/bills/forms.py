from datetime import date

from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from trustweb.forms import BaseForm, MoneyField, choices
from trustweb.services.payments import MANUAL_METHODS
from trustweb.trust.forms import amount_field, date_field

EMAIL_LIST = r"^\s*[^@\s,]+@[^@\s,]+\.[^@\s,]+\s*(,\s*[^@\s,]+@[^@\s,]+\.[^@\s,]+\s*)*$"


def email_list(text):
    return [address.strip().lower() for address in (text or "").split(",") if address.strip()]


def due_not_before_issue(form, field):
    if field.data and form.issued_on.data and field.data < form.issued_on.data:
        raise ValidationError("The due date cannot be before the issue date.")


class TrustRequestForm(BaseForm):
    contact_id = SelectField("Client", coerce=int, validators=[DataRequired("Choose the client.")])
    matter_id = SelectField("For", coerce=int)
    account_id = SelectField("Trust account", coerce=int, validators=[DataRequired("Choose a trust account.")])
    amount = amount_field()
    issued_on = DateField("Issue date", validators=[InputRequired("Enter the issue date.")], default=date.today)
    due_on = DateField("Due date", validators=[Optional(), due_not_before_issue])
    message = TextAreaField("Message to the client", validators=[Optional(), Length(max=2000)])
    template_id = SelectField("Email template", coerce=int)
    allow_partial = BooleanField("Allow partial payments")
    minimum = MoneyField("Smallest payment accepted", validators=[Optional(), Length(max=20)], allow_zero=False)
    recipients = StringField(
        "Email to",
        validators=[
            Optional(),
            Length(max=1000),
            Regexp(EMAIL_LIST, message="Enter email addresses separated by commas."),
        ],
    )
    cc = StringField(
        "Cc",
        validators=[
            Optional(),
            Length(max=1000),
            Regexp(EMAIL_LIST, message="Enter email addresses separated by commas."),
        ],
    )


class VoidForm(BaseForm):
    reason = TextAreaField(
        "Why is it void?", validators=[DataRequired("Say why the request is void."), Length(max=500)]
    )


class PaymentForm(BaseForm):
    """A payment received by hand; the key stops a double-submitted form recording it twice."""

    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = amount_field()
    received_on = date_field("Received on")
    method = SelectField("Paid by", choices=choices(MANUAL_METHODS.items()))
    payer = StringField("Paid by (name)", validators=[DataRequired("Say who paid."), Length(max=200)])
    reference = StringField("Reference or cheque number", validators=[Optional(), Length(max=100)])
    cleared = BooleanField("The bank has cleared these funds")


class RefundForm(BaseForm):
    amount = amount_field()
    online = BooleanField("Refund through Stripe (otherwise: recorded as refunded another way)")
    reason = StringField("Reason", validators=[DataRequired("Say why the money is refunded."), Length(max=300)])
