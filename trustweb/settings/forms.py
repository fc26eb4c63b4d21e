from zoneinfo import available_timezones

from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from trustweb.forms import BaseForm, choices, email_validator
from trustweb.models import ROLE_LABELS

CURRENCIES = [
    ("USD", "US dollar (USD)"),
    ("CAD", "Canadian dollar (CAD)"),
    ("EUR", "Euro (EUR)"),
    ("GBP", "Pound sterling (GBP)"),
    ("AUD", "Australian dollar (AUD)"),
    ("NZD", "New Zealand dollar (NZD)"),
]
ROLE_CHOICES = list(ROLE_LABELS.items())


class FirmSettingsForm(BaseForm):
    firm_name = StringField("Firm name", validators=[DataRequired("Enter the firm's name."), Length(max=200)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)])
    email = StringField("Email", validators=[Optional(), Length(max=254), email_validator()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    timezone = SelectField("Time zone")
    currency = SelectField("Currency", choices=choices(CURRENCIES))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = sorted(available_timezones() - {"localtime", "Factory"})

    def values(self):
        return {
            "firm_name": self.firm_name.data,
            "address": self.text("address"),
            "email": (self.email.data or "").lower() or None,
            "phone": self.text("phone"),
            "timezone": self.timezone.data,
            "currency": self.currency.data,
        }


class InviteForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Enter the person's name."), Length(max=120)])
    email = StringField("Email", validators=[DataRequired("Enter an email."), Length(max=254), email_validator()])
    role = SelectField("Role", choices=choices(ROLE_CHOICES), default="staff")


class UserForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Enter the person's name."), Length(max=120)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES))


class BankAccountForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Name the account."), Length(max=120)])
    kind = RadioField(
        "Kind", choices=choices([("trust", "Trust (client money)"), ("operating", "Operating (the firm's money)")])
    )
    is_iolta = BooleanField("IOLTA account (interest goes to the bar foundation)")
    bank_name = StringField("Bank", validators=[Optional(), Length(max=120)])
    account_last4 = StringField(
        "Last 4 digits of the account number",
        validators=[Optional(), Regexp(r"^[0-9]{4}$", message="Enter exactly four digits.")],
    )
    currency = SelectField("Currency", choices=choices(CURRENCIES))

    def values(self):
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "is_iolta": self.is_iolta.data,
            "bank_name": self.text("bank_name"),
            "account_last4": self.text("account_last4"),
            "currency": self.currency.data,
        }
