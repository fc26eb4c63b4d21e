import re

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from trustweb.forms import (
    CONTROL,
    MARKUP,
    BaseForm,
    IdField,
    IdSelectField,
    IsoDateField,
    MoneyField,
    choices,
    cleared_field,
)
from trustweb.ledger.money import MoneyError, parse_cents
from trustweb.services.invoices import line_amount
from trustweb.services.payments import MANUAL_METHODS
from trustweb.services.trust import firm_today
from trustweb.trust.forms import amount_field, date_field

EMAIL_LIST = r"^\s*[^@\s,]+@[^@\s,]+\.[^@\s,]+\s*(,\s*[^@\s,]+@[^@\s,]+\.[^@\s,]+\s*)*$"


def email_list(text):
    return [address.strip().lower() for address in (text or "").split(",") if address.strip()]


def due_not_before_issue(form, field):
    if field.data and form.issued_on.data and field.data < form.issued_on.data:
        raise ValidationError("The due date cannot be before the issue date.")


class TrustRequestForm(BaseForm):
    """A trust request. The client is searched for by name (`client`, offered as a combobox) and chosen by id
    (`contact_id`, or `pick_id` from the list of matches shown without script); the key stops a double-clicked
    Save making two requests."""

    client = StringField("Client", validators=[Optional(), Length(max=200)])
    contact_id = IdField("Client", validators=[DataRequired("Choose the client.")], message="Choose the client.")
    pick_id = IdField("Which client?", message="Choose the client from the list.")
    key = HiddenField(validators=[Optional(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    matter_id = IdSelectField("Matter", message="Choose the matter from the list.")
    account_id = IdSelectField(
        "Trust account", validators=[DataRequired("Choose a trust account.")], message="Choose a trust account."
    )
    amount = amount_field()
    issued_on = DateField("Issue date", validators=[InputRequired("Enter the issue date.")], default=firm_today)
    due_on = DateField("Due date", validators=[Optional(), due_not_before_issue])
    message = TextAreaField("Message to the client", validators=[Optional(), Length(max=2000)])
    template_id = IdSelectField("Email template", message="Choose the template from the list.")
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
    client_problem: str | None = None  # set by the view when the typed name is not one client (or a new one)

    def validate_client(self, field):
        if self.client_problem:
            raise ValidationError(self.client_problem)


class VoidForm(BaseForm):
    reason = TextAreaField(
        "Why is it void?", validators=[DataRequired("Say why the request is void."), Length(max=500)]
    )


class PaymentForm(BaseForm):
    """A payment received by hand; the key stops a double-submitted form recording it twice.

    An invoice's payment goes into operating, where nothing waits to clear: only a trust request's form
    (RequestPaymentForm) asks whether the bank has cleared the money.
    """

    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = amount_field()
    received_on = date_field("Received on")
    method = SelectField("Paid by", choices=choices(MANUAL_METHODS.items()))
    payer = StringField("Paid by (name)", validators=[DataRequired("Say who paid."), Length(max=200)])
    reference = StringField("Reference or cheque number", validators=[Optional(), Length(max=100)])

    def values(self):
        """What the payment services take, by name."""
        return {
            "amount_cents": self.amount.cents,
            "method": self.method.data,
            "received_on": self.received_on.data,
            "reference": self.text("reference"),
            "payer": self.payer.data,
            "idempotency_key": self.key.data,
        }


class RequestPaymentForm(PaymentForm):
    """A payment of a trust request received by hand: into trust, cleared or not yet."""

    cleared = cleared_field()

    def values(self):
        return {**super().values(), "cleared": self.cleared.data}


class DeskDepositForm(BaseForm):
    """Money a client pays into trust at the desk for a matter with nothing asked of them yet; the key stops a
    double-clicked Continue making two requests."""

    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = MoneyField("Amount to take into trust", validators=[DataRequired("Enter the amount to take.")])


class RefundForm(BaseForm):
    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = amount_field()
    online = BooleanField("Refund through Stripe (otherwise: recorded as refunded another way)")
    reason = StringField("Reason", validators=[DataRequired("Say why the money is refunded."), Length(max=300)])


def quantity_hundredths(text):
    """Hours or units as typed ("1.5", "0.25", "2") in hundredths; None when not a usable quantity."""
    match = re.fullmatch(r"\s*(\d{1,5})(?:\.(\d{1,2}))?\s*", text or "")
    if not match:
        return None
    value = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return value or None


DATE_MESSAGE = "“{value}” is not a date: pick it from the calendar or write it as YYYY-MM-DD, e.g. 2026-01-31."


class InvoiceLineForm(Form):
    """One line of an invoice; a line without a description is left out."""

    line_date = IsoDateField("Date", validators=[Optional()], message=DATE_MESSAGE)
    description = StringField("Description", validators=[Optional(), Length(max=300)])
    kind = SelectField("Kind", choices=choices([("fee", "Fee"), ("expense", "Expense")]))
    quantity = StringField("Hours or quantity", validators=[Optional(), Length(max=10)])
    rate = MoneyField("Rate", validators=[Optional(), Length(max=20)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not self.description.data:
            return valid
        for field in (self.description, self.quantity):
            if MARKUP.search(field.data or "") or CONTROL.search(field.data or ""):
                field.errors = [*field.errors, "This contains characters that cannot be stored."]
                valid = False
        if quantity_hundredths(self.quantity.data) is None:
            self.quantity.errors = [*self.quantity.errors, "Enter the hours or quantity, e.g. 1.5."]
            valid = False
        if self.rate.cents is None:
            self.rate.errors = [*self.rate.errors, "Enter the rate or price."]
            valid = False
        if self.line_date.data is None and not self.line_date.errors:
            self.line_date.errors = [*self.line_date.errors, "Enter the date."]
            valid = False
        return valid

    def amount_cents(self):
        """What the line comes to as typed so far (the running total), None while its hours or rate are not usable."""
        hundredths = quantity_hundredths(self.quantity.data)
        try:
            rate = parse_cents(self.rate.data, allow_zero=True)
        except MoneyError:
            return None
        return line_amount(hundredths, rate) if hundredths is not None else None


LINE_ACTIONS = re.compile(r"^(add|total|remove-(\d{1,2}))$")
MAX_LINES = 40
TOO_MANY_LINES = f"An invoice has at most {MAX_LINES} lines."


class LineList(FieldList):
    """The invoice's lines; .sent counts the lines posted, which WTForms would cut to max_entries without a word."""

    sent = 0

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        self.sent = len(set(self._extract_indices(self.name, formdata))) if formdata else len(self.entries)


class InvoiceForm(BaseForm):
    matter_id = IdSelectField("Matter", validators=[DataRequired("Choose the matter.")], message="Choose the matter.")
    issued_on = IsoDateField("Issue date", validators=[InputRequired("Enter the issue date.")], message=DATE_MESSAGE)
    due_on = IsoDateField("Due date", validators=[Optional(), due_not_before_issue], message=DATE_MESSAGE)
    notes = TextAreaField("Notes to the client", validators=[Optional(), Length(max=2000)])
    lines = LineList(FormField(InvoiceLineForm), min_entries=1, max_entries=MAX_LINES)
    lines_error: str | None = None  # said under the lines: more than MAX_LINES sent, or asked for

    def validate(self, extra_validators=None):
        return self.lines_counted() & super().validate(extra_validators)

    def lines_counted(self):
        """False, and lines_error says so, when more lines were posted than an invoice has (a crafted post):
        refused, never cut short silently."""
        if self.lines.sent <= MAX_LINES:
            return True
        self.lines_error = (
            f"{TOO_MANY_LINES} This form sent {self.lines.sent}; only the first {MAX_LINES} are shown: check them "
            "and save again."
        )
        return False

    def line_values(self):
        return [
            {
                "line_date": line.line_date.data,
                "description": line.description.data.strip(),
                "kind": line.kind.data,
                "quantity_hundredths": quantity_hundredths(line.quantity.data),
                "rate_cents": line.rate.cents,
            }
            for line in (entry.form for entry in self.lines)
            if (line.description.data or "").strip()
        ]

    def add_line(self, line_date):
        """One more line, dated `line_date` (the firm's today); False (and lines_error says why) when the form has
        as many as it may."""
        if len(self.lines.entries) >= MAX_LINES:
            self.lines_error = TOO_MANY_LINES
            return False
        self.lines.append_entry().form.line_date.data = line_date
        return True

    def remove_line(self, position, line_date):
        """Leave out the line at `position` (0 up); the form keeps one line, empty, at the least."""
        if 0 <= position < len(self.lines.entries):
            del self.lines.entries[position]
        if not self.lines.entries:
            self.add_line(line_date)

    def total_cents(self):
        """The running total of the lines typed so far that have a description and usable figures."""
        return sum(
            entry.form.amount_cents() or 0 for entry in self.lines if (entry.form.description.data or "").strip()
        )


class ApplyTrustForm(BaseForm):
    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = amount_field()
    source = SelectField(
        "From",
        choices=choices(
            [("matter", "The matter's trust funds"), ("client", "The client's funds held without a matter")]
        ),
    )


class BatchForm(BaseForm):
    """Apply the previewed batch: its fingerprint, and a key so a double click applies it once."""

    digest = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])
    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    lawyer = IdField(message="Choose the lawyer from the list.")
