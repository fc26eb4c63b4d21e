from decimal import Decimal, InvalidOperation
from zoneinfo import available_timezones

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from trustweb.forms import BaseForm, MoneyField, choices, email_validator
from trustweb.images import MAX_BYTES as MAX_LOGO_BYTES
from trustweb.models import ROLE_LABELS, TEMPLATE_KINDS

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

    require_approval = BooleanField("Trust requests made by staff need a lawyer's approval before they are sent")
    pay_link_days = IntegerField(
        "Pay links work for (days)",
        validators=[InputRequired("Enter a number of days."), NumberRange(1, 365, "Between 1 and 365 days.")],
    )
    remind_days_before = IntegerField(
        "Remind this many days before the due date",
        validators=[InputRequired("Enter a number of days (0 for never)."), NumberRange(0, 60, "Between 0 and 60.")],
    )
    remind_overdue_every = IntegerField(
        "When overdue, remind every (days)",
        validators=[InputRequired("Enter a number of days (0 for never)."), NumberRange(0, 90, "Between 0 and 90.")],
    )
    reminder_hour = IntegerField(
        "Send the day's reminders at (hour, 0-23)",
        validators=[InputRequired("Enter an hour from 0 to 23."), NumberRange(0, 23, "An hour from 0 to 23.")],
    )
    trust_notice_days = IntegerField(
        "Notice before trust money pays an invoice (days)",
        validators=[InputRequired("Enter a number of days (0: at once)."), NumberRange(0, 60, "Between 0 and 60.")],
    )
    request_due_days = IntegerField(
        "Requests are due this many days after they are made",
        validators=[
            InputRequired("Enter a number of days (0: due the day it is made)."),
            NumberRange(0, 365, "Enter a number of days from 0 to 365."),
        ],
    )
    card_fee_percent = StringField("Card fee (%)", validators=[InputRequired("Enter the percentage, e.g. 2.9.")])
    card_fee_fixed = MoneyField("plus per payment", validators=[InputRequired("Enter the fixed fee, e.g. 0.30.")])
    payment_instructions = TextAreaField("Wire and cheque instructions", validators=[Optional(), Length(max=2000)])

    def validate_card_fee_percent(self, field):
        try:
            percent = Decimal(field.data or "")
        except InvalidOperation:
            raise ValidationError("Enter a percentage such as 2.9.") from None
        if not percent.is_finite() or not 0 <= percent <= 20 or percent != percent.quantize(Decimal("0.01")):
            raise ValidationError("Between 0 and 20, with at most two decimals.")
        self.card_fee_basis_points = int(percent * 100)

    def validate_card_fee_fixed(self, field):
        if field.cents is not None and field.cents > 10_000:
            raise ValidationError("At most 100.00.")

    def values(self):
        return {
            "require_approval": self.require_approval.data,
            "pay_link_days": self.pay_link_days.data,
            "remind_days_before": self.remind_days_before.data,
            "remind_overdue_every": self.remind_overdue_every.data,
            "reminder_hour": self.reminder_hour.data,
            "card_fee_basis_points": self.card_fee_basis_points,
            "card_fee_fixed_cents": self.card_fee_fixed.cents,
            "payment_instructions": self.text("payment_instructions"),
            "trust_notice_days": self.trust_notice_days.data,
            "request_due_days": self.request_due_days.data,
            "firm_name": self.firm_name.data,
            "address": self.text("address"),
            "email": (self.email.data or "").lower() or None,
            "phone": self.text("phone"),
            "timezone": self.timezone.data,
            "currency": self.currency.data,
        }


class LogoForm(BaseForm):
    image = FileField("Logo image", validators=[FileRequired("Choose the logo's image file (PNG or JPEG).")])

    def contents(self):
        """The file's bytes, read no further than one past the most a logo may be (enough to refuse it)."""
        return self.image.data.stream.read(MAX_LOGO_BYTES + 1)


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


class TemplateForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Name the template."), Length(max=120)])
    kind = SelectField("Used for", choices=choices(list(TEMPLATE_KINDS.items())))
    subject = StringField("Subject", validators=[DataRequired("Enter the subject."), Length(max=300)])
    body = TextAreaField("Body", validators=[DataRequired("Enter the body."), Length(max=5_000)])

    def values(self):
        return {"name": self.name.data, "kind": self.kind.data, "subject": self.subject.data, "body": self.body.data}


class ProcessorForm(BaseForm):
    processor = RadioField(
        "Card and bank payments",
        choices=choices([("test", "Test processor (no real money moves)"), ("stripe", "Stripe")]),
    )
    secret_key = PasswordField(
        "Stripe secret key",
        validators=[
            Optional(),
            Length(max=300),
            Regexp(
                r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$", message="A Stripe secret key starts with sk_test_ or sk_live_."
            ),
        ],
    )
    webhook_secret = PasswordField(
        "Webhook signing secret",
        validators=[
            Optional(),
            Length(max=300),
            Regexp(r"^whsec_[A-Za-z0-9]+$", message="A webhook signing secret starts with whsec_."),
        ],
    )
    forget_keys = BooleanField("Remove the saved keys")
    fee_mode = RadioField(
        "Processing fees",
        choices=choices(
            [
                ("deducted", "Stripe keeps its fees from the payouts into this account (Stripe's default)"),
                ("billed", "Stripe bills its fees to the firm's operating account"),
            ]
        ),
    )
    ach_hold_days = IntegerField(
        "Hold bank payments (ACH) as uncleared for (days)",
        validators=[InputRequired("Enter a number of days."), NumberRange(0, 30, "Between 0 and 30 days.")],
    )

    def values(self):
        return {
            "processor": self.processor.data,
            "secret_key": self.secret_key.data or None,
            "webhook_secret": self.webhook_secret.data or None,
            "forget_keys": self.forget_keys.data,
            "fee_mode": self.fee_mode.data,
            "ach_hold_days": self.ach_hold_days.data,
        }
