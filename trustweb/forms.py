"""The base form every TrustWeb form builds on, and shared fields."""

import re
from datetime import date

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import Email, StopValidation, ValidationError
from wtforms.widgets import DateInput

from trustweb.auth.permissions import can
from trustweb.ledger.money import MoneyError, parse_cents
from trustweb.views import MAX_ID, BadAddress

# A "<" that opens a tag, comment or processing instruction; "a < b" is still fine.
MARKUP = re.compile(r"<\s*[a-zA-Z/!?]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def choices(pairs):
    """(value, label) pairs as the SelectChoice objects WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip(value):
    return value.strip() if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """Strips whitespace and refuses markup and control characters in every text field."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if not issubclass(unbound_field.field_class, (PasswordField, FieldList, FormField)):
                options["filters"] = [strip, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, **options)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, StringField) and not isinstance(field, PasswordField):
                value = field.data
                if isinstance(value, str) and MARKUP.search(value):
                    field.errors = [*field.errors, "HTML tags are not allowed here."]
                    valid = False
                elif isinstance(value, str) and CONTROL.search(value):
                    field.errors = [*field.errors, "This contains characters that cannot be stored."]
                    valid = False
        return valid

    def text(self, name):
        """A field's value with empty text as None, for optional columns."""
        value = self[name].data
        return value or None


def email_validator(message="Enter a valid email address."):
    return Email(message=message, check_deliverability=False)


class MoneyField(StringField):
    """An amount typed by a person, held as integer cents in .cents (None when empty)."""

    def __init__(self, label=None, validators=None, allow_zero=True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero
        self.cents = None

    def pre_validate(self, form):
        self.cents = None
        if self.data:
            try:
                self.cents = parse_cents(self.data, allow_zero=self.allow_zero)
            except MoneyError as error:
                raise ValidationError(str(error)) from error


def may_clear(form, field):
    """Ticking "cleared" clears the deposit in the user's name: only for those who may clear deposits."""
    if field.data and not can(current_user, "clear_deposits"):
        raise ValidationError(
            "You cannot mark money as cleared. Record it without this box; someone who clears deposits marks it "
            "cleared on its entry once the bank has."
        )


def cleared_field(label="The bank has cleared these funds"):
    """Whether money recorded by hand has cleared; the template shows it only to those who may clear deposits."""
    return BooleanField(label, validators=[may_clear])


def iso_date(text):
    """A date written YYYY-MM-DD (as <input type="date"> sends it); None when empty, ValueError when not a date."""
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


def query_date(name):
    """A list's date filter from the query string; one that is not a date is not applied (a report's is refused
    instead: IsoDateField)."""
    try:
        return iso_date(request.args.get(name, ""))
    except ValueError:
        return None


class IsoDateField(StringField):
    """A date written YYYY-MM-DD, in .data as a date (None when left empty); anything else is the message, with
    what was written in place of {value}."""

    widget = DateInput()

    def __init__(self, label=None, validators=None, message="“{value}” is not a date.", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        self.data = None
        text = valuelist[0] if valuelist else ""
        try:
            self.data = iso_date(text)
        except ValueError:
            raise ValueError(self.message.format(value=text.strip()[:20])) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""


def parse_id(text):
    """A row's id written in digits, as an int; None for anything no row of ours can have (not digits, 0, or beyond
    the integer columns, which PostgreSQL would refuse to compare with)."""
    text = (text or "").strip() if isinstance(text, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    return int(text) if 0 < int(text) <= MAX_ID else None


def query_id(name, what="row"):
    """An id from the query string (a list's filter, a new form's pre-filled choice): None when not given (or 0, a
    list's "any"); one no row of ours can have is refused with a 400 that says so."""
    text = request.args.get(name, "").strip()
    if text in ("", "0"):
        return None
    ident = parse_id(text)
    if ident is None:
        raise BadAddress(
            f"This address asks for a {what} that cannot exist ({name}={text[:20]}). Choose one from the list."
        )
    return ident


class IdSelectField(SelectField):
    """A select whose options are ids (0 for "none chosen"), in .data as an int; a value no row of ours can have is
    the message (None in .data), and the field's other validators are not run."""

    def __init__(self, label=None, validators=None, message="Choose from the list.", **kwargs):
        super().__init__(label, validators, coerce=int, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: the value it was given stays
        text = valuelist[0].strip()
        self.data = None if not text else 0 if text == "0" else parse_id(text)
        if text and self.data is None:
            raise ValueError(self.message)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        super().pre_validate(form)


class IdField(StringField):
    """The id of a row chosen from a list, in .data as an int (None when left empty); anything that cannot be one
    of ours is the message."""

    def __init__(self, label=None, validators=None, message="Choose from the list.", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        self.data = parse_id(text)
        if self.data is None:
            raise ValueError(self.message)
