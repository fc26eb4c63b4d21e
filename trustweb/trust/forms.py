from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from trustweb.forms import BaseForm, MoneyField, choices, cleared_field
from trustweb.services.trust import METHODS, firm_today


def not_future(form, field):
    """Not after today in the firm's own time zone (the server's clock may already be on tomorrow)."""
    if field.data and field.data > firm_today():
        raise ValidationError("The date cannot be in the future.")


def amount_field():
    return MoneyField("Amount", validators=[DataRequired("Enter an amount."), Length(max=20)], allow_zero=False)


def date_field(label="Date"):
    return DateField(label, validators=[InputRequired("Enter the date."), not_future], default=firm_today)


class PanelForm(BaseForm):
    """The trust panel shows three forms at once: a prefix keeps their fields' names and ids apart."""

    prefix_name = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)


class DepositForm(PanelForm):
    prefix_name = "deposit"
    amount = amount_field()
    entry_date = date_field()
    method = SelectField("Received by", choices=choices([(k, v) for k, v in METHODS.items() if k != "card"]))
    payer = StringField("Received from", validators=[DataRequired("Say who paid."), Length(max=200)])
    reference = StringField("Reference", validators=[Optional(), Length(max=100)])
    description = StringField("Description", validators=[Optional(), Length(max=300)])
    cleared = cleared_field()


class DisbursementForm(PanelForm):
    prefix_name = "disburse"
    amount = amount_field()
    entry_date = date_field()
    payee = StringField("Paid to", validators=[DataRequired("Say who is paid."), Length(max=200)])
    description = StringField("Purpose", validators=[DataRequired("Say what the payment is for."), Length(max=300)])
    method = SelectField("Paid by", choices=choices([(k, v) for k, v in METHODS.items() if k not in ("card", "cash")]))
    cheque_number = StringField(
        "Cheque number",
        validators=[Optional(), Length(max=20), Regexp(r"^[0-9A-Za-z-]+$", message="Letters, digits and - only.")],
    )
    reference = StringField("Reference", validators=[Optional(), Length(max=100)])
    override_reason = TextAreaField(
        "Pay from uncleared funds because", validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Not an inline validator: Optional() stops the field's chain while it is empty.
        if self.method.data == "cheque" and not self.cheque_number.data:
            self.cheque_number.errors = [*self.cheque_number.errors, "Enter the cheque number."]
            valid = False
        return valid


class TransferForm(PanelForm):
    prefix_name = "transfer"
    amount = amount_field()
    entry_date = date_field()
    destination = SelectField("To", validators=[DataRequired("Choose where the money goes.")])
    other_matter = StringField("Matter number", validators=[Optional(), Length(max=20)])
    reason = StringField("Reason", validators=[Optional(), Length(max=300)])


class ReverseForm(BaseForm):
    reason = StringField("Why is it reversed?", validators=[DataRequired("Say why."), Length(max=250)])
    entry_date = date_field("Date of the reversal")


class ClearForm(BaseForm):
    cleared_on = date_field("Cleared on")


class ReplaceShortfallForm(BaseForm):
    amount = amount_field()
    entry_date = date_field()
    reference = StringField("Reference", validators=[Optional(), Length(max=100)])
