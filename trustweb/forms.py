"""The base form every TrustWeb form builds on, and shared fields."""

import re

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, PasswordField, SelectChoice, StringField
from wtforms.validators import Email, ValidationError

from trustweb.ledger.money import MoneyError, parse_cents

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
