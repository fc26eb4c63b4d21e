"""The audit trail's filters, read from the query string (a GET form: nothing is changed, so no CSRF token).

A filter that cannot be applied is refused with the reason (the page says it with a 400), never guessed at.
"""

from datetime import date

from wtforms import Form, StringField, ValidationError

from trustweb.forms import IdField, IsoDateField
from trustweb.services.audit_trail import Filters
from trustweb.text import printable

NOT_A_DATE = "“{value}” is not a date; use YYYY-MM-DD."
# The dates a filter takes: beyond them a day's midnight in the firm's zone, or the day after the last one, would
# fall outside what Python's dates hold (9999-12-31 + 1 day), and no event is recorded there anyway.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
OUT_OF_RANGE = f"Choose a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}."


def _text(limit):
    return [lambda text: printable(text or "", limit)]


class FilterForm(Form):
    """The filters, and in .filters what they narrow the trail to."""

    user = IdField("User", message="Choose the user from the list.")
    NO_USER = "none"  # the user filter's choice for events no staff user made: commands, the worker, clients
    action = StringField("Action", filters=_text(60))
    object_type = StringField("Object", name="object", filters=_text(40))
    object_id = StringField("Object id", name="id", filters=_text(40))
    date_from = IsoDateField("From", name="from", message=NOT_A_DATE)
    date_to = IsoDateField("To", name="to", message=NOT_A_DATE)

    def validate_date_from(self, field):
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(OUT_OF_RANGE)

    def validate_date_to(self, field):
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(OUT_OF_RANGE)
        if self.date_from.data and field.data and self.date_from.data > field.data:
            raise ValidationError("The start date is after the end date.")

    def validate_object_id(self, field):
        if field.data and not self.object_type.data:
            raise ValidationError("Choose the kind of object too (a matter, a trust request...).")

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data, extra_filters, **kwargs)
        # "none" is a choice of its own, not an id: taken out before IdField reads it, and its error dropped.
        self.no_user = bool(self.user.raw_data) and self.user.raw_data[0].strip() == self.NO_USER
        if self.no_user:
            self.user.data, self.user.process_errors = None, []

    @property
    def filters(self):
        return Filters(
            user_id=self.user.data,
            no_user=self.no_user,
            action=self.action.data or "",
            object_type=self.object_type.data or "",
            object_id=self.object_id.data or "",
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

    def args(self):
        """The filters as the query string writes them, for the pager's and the CSV's links."""
        return {field.name: field.raw_data[0] for field in self if field.raw_data and field.raw_data[0].strip()}

    def refusal(self):
        """The first filter that cannot be applied, and why."""
        return next((field.errors[0] for field in self if field.errors), None)
