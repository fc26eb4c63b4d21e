"""A report's filters, read from the query string (a GET form: nothing is changed, so no CSRF token).

A filter that cannot be applied is refused with the reason, never guessed at:
the first one wrong, in the order of the fields, is what the page says.
"""

from sqlalchemy import select
from wtforms import Form, StringField, ValidationError

from trustweb.extensions import db
from trustweb.forms import IdField, IsoDateField, strip
from trustweb.models import BankAccount, Contact, Matter, User
from trustweb.services.reports import Filters
from trustweb.text import printable

NOT_A_DATE = "“{value}” is not a date; use YYYY-MM-DD."


class FilterForm(Form):
    """The filters a report takes (the others are not read), and the rows they name, in .filters."""

    date_from = IsoDateField("From", name="from", message=NOT_A_DATE)
    date_to = IsoDateField("To", name="to", message=NOT_A_DATE)
    as_of = IsoDateField("As of", message=NOT_A_DATE)
    account = IdField("Trust account", message="Choose the account from the list.")
    lawyer = IdField("Lawyer", message="Choose the lawyer from the list.")
    matter = StringField("Matter number", filters=[lambda text: printable(text or "", 40)])
    client = IdField("Client", message="Choose the client from the list.")
    # The matter picker's search: a client's name, a matter number or description; its matches are links that set
    # `matter`, so no number has to be typed exactly.
    find = StringField("Matter", filters=[lambda text: printable(text or "", 100)])
    status = StringField("Status", filters=[strip])

    # The filter each field belongs to: a client's funds are asked for from the matter filter's place.
    FILTER = {"date_from": "from", "date_to": "to", "client": "matter", "find": "matter"}

    def __init__(self, formdata, allowed, statuses):
        super().__init__(formdata)
        for name in list(self._fields):
            if self.FILTER.get(name, name) not in allowed:
                del self[name]
        self.statuses = statuses
        self.filters = Filters()

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        for name in ("date_from", "date_to", "as_of"):
            if name in self:
                setattr(self.filters, name, self[name].data)
        return True

    def refusal(self):
        """The first filter that cannot be applied, and why."""
        return next((field.errors[0] for field in self if field.errors), None)

    def validate_date_to(self, field):
        start = self.date_from.data if "date_from" in self else None
        if start and field.data and start > field.data:
            raise ValidationError("The start date is after the end date.")

    def validate_account(self, field):
        if field.data is not None:
            self.filters.account = db.session.get(BankAccount, field.data)
            if self.filters.account is None or self.filters.account.kind != "trust":
                raise ValidationError("Choose a trust account from the list.")

    def validate_lawyer(self, field):
        if field.data is not None:
            self.filters.lawyer = db.session.get(User, field.data)
            if self.filters.lawyer is None:
                raise ValidationError("Choose the lawyer from the list.")

    def validate_matter(self, field):
        if field.data:
            self.filters.matter = db.session.scalar(select(Matter).where(Matter.number == field.data))
            if self.filters.matter is None:
                raise ValidationError(f"No matter is numbered “{field.data}”.")

    def validate_client(self, field):
        if field.data is not None and self.filters.matter is None:
            self.filters.contact = db.session.get(Contact, field.data)
            if self.filters.contact is None:
                raise ValidationError("That client does not exist.")

    def validate_status(self, field):
        if field.data:
            if field.data not in self.statuses:
                raise ValidationError("Choose a status from the list.")
            self.filters.status = field.data
