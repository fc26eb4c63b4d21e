from wtforms import HiddenField, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp

from trustweb.forms import BaseForm, IdSelectField, IsoDateField, MoneyField, choices
from trustweb.models import PLAN_FREQUENCIES
from trustweb.services.plans import MOST_PAYMENTS

ENDS = {"paid": "When the request or invoice is paid", "count": "After a number of payments", "ongoing": "When stopped"}


class PlanTermsForm(BaseForm):
    """What an edit may change: the method, amount, frequency and next date."""

    method_id = IdSelectField("Charge", validators=[DataRequired("Choose the saved method.")])
    amount = MoneyField(
        "Each payment", validators=[DataRequired("Enter the amount of each payment.")], allow_zero=False
    )
    frequency = SelectField("How often", choices=choices(PLAN_FREQUENCIES.items()))
    start_on = IsoDateField("First payment", validators=[InputRequired("Enter the date of the first payment.")])


class PlanForm(PlanTermsForm):
    """A new plan: its terms, what it pays and when it ends; the key stops a form posted twice making two plans."""

    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    target = SelectField("Pays", validate_choice=True)
    ends = SelectField("Ends", choices=choices(ENDS.items()))
    payments_total = IntegerField(
        "Number of payments",
        validators=[Optional(), NumberRange(1, MOST_PAYMENTS, f"Enter a number of payments, 1 to {MOST_PAYMENTS}.")],
    )


class EditPlanForm(PlanTermsForm):
    start_on = IsoDateField("Next payment", validators=[InputRequired("Enter the date of the next payment.")])
