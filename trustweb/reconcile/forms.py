"""The reconciliation pages' forms.

FlaskForms (CSRF checked) but not BaseForms: a CSV's column names are the
bank's own text, passed on as they are to be checked against the file, and an
explanation may quote what the bank wrote. Each page shows one message, not one
per field: refusal() is the first thing wrong, in the order of the fields.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField

from trustweb.bankfiles import signed_cents
from trustweb.bankfiles.csvfile import MAPPING
from trustweb.forms import IdField, IsoDateField, choices
from trustweb.ledger.money import MoneyError


class BalanceField(StringField):
    """A statement's ending balance, below zero when overdrawn ("-12.50", "(12.50)"), in .cents (None when empty)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.cents = None

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.cents = None
        value = (self.data or "").strip()
        if not value:
            return
        try:
            cents = signed_cents(value)
        except MoneyError as error:
            raise ValueError(f"The ending balance cannot be read: {error}") from None
        self.cents = -abs(cents) if value.startswith("-") else cents


class ReconcileForm(FlaskForm):
    def refusal(self):
        """The first thing wrong, in the order of the fields, then the form's own."""
        for field in self:
            if field.errors:
                return field.errors[0]
        return self.form_errors[0] if self.form_errors else None


class PeriodForm(ReconcileForm):
    """A statement's period and ending balance, when the file does not carry them or there is no file."""

    period_start = IsoDateField("First day")
    period_end = IsoDateField("Last day")
    ending_balance = BalanceField("Ending balance")


class TypedStatementForm(PeriodForm):
    """A statement typed from paper: all three are needed."""

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if None in (self.period_start.data, self.period_end.data, self.ending_balance.cents):
            self.form_errors.append("Enter the statement's first and last day and its ending balance.")
            return False
        return True


class ColumnsForm(ReconcileForm):
    """The bank's file alone, sent as soon as it is chosen, to read the names of its columns."""

    file = FileField("Statement file")

    def contents(self):
        return self.file.data.read() if self.file.data else b""


class ImportForm(ColumnsForm, PeriodForm):
    """The bank's file, its kind, which column holds what (for a CSV), and what the file does not carry itself."""

    source = SelectField(
        "Kind of file",
        choices=choices([("csv", "CSV (spreadsheet export)"), ("ofx", "OFX / QFX / QBO (Money, Quicken, QuickBooks)")]),
        validate_choice=False,  # the service says what to choose
    )
    date = StringField()
    amount = StringField()
    debit = StringField()
    credit = StringField()
    description = StringField()
    reference = StringField()
    direction = StringField()
    date_format = StringField()
    sign = StringField()
    confirm = StringField()  # the preview's token: the file and choices the person saw
    back = StringField()

    def mapping(self):
        """Which column holds what, as the person chose (or the page kept from last time)."""
        return {key: self[key].data or "" for key in MAPPING}


class EntryForm(ReconcileForm):
    """A journal entry chosen to match a line to, or to tick on a typed statement."""

    entry_id = IdField()


class SignForm(ReconcileForm):
    explanation = TextAreaField(
        "Explain each difference", filters=[lambda text: (text or "").replace("\x00", "")[:5000]]
    )
