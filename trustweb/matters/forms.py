from datetime import date

from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from trustweb.forms import BaseForm, IdSelectField, MoneyField, choices


def sensible_date(form, field):
    if field.data and not (date(1950, 1, 1) <= field.data <= date(2100, 12, 31)):
        raise ValidationError("Enter a date between 1950 and 2100.")


class MatterForm(BaseForm):
    client_id = IdSelectField("Client", validators=[DataRequired("Choose the client.")], message="Choose the client.")
    description = StringField("Description", validators=[DataRequired("Describe the matter."), Length(max=200)])
    lawyer_id = IdSelectField(
        "Responsible lawyer", validators=[DataRequired("Choose a lawyer.")], message="Choose a lawyer."
    )
    practice_area = StringField("Practice area", validators=[Optional(), Length(max=80)])
    opened_on = DateField("Opened on", validators=[InputRequired("Enter the date the matter opened."), sensible_date])
    evergreen_minimum = MoneyField("Evergreen minimum", validators=[Optional(), Length(max=20)])
    evergreen_target = MoneyField("Evergreen target", validators=[Optional(), Length(max=20)])
    evergreen_auto_request = BooleanField("Below the minimum, ask the client for the top-up by email, automatically")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def validate_evergreen_target(self, field):
        minimum, target = self.evergreen_minimum.cents, field.cents
        if minimum is not None and target is not None and target < minimum:
            raise ValidationError("The target cannot be below the minimum.")

    def validate_evergreen_auto_request(self, field):
        if field.data and self.evergreen_minimum.cents is None:
            raise ValidationError("Set the evergreen minimum that the automatic top-up keeps.")

    def values(self):
        return {
            "client_id": self.client_id.data,
            "description": self.description.data,
            "lawyer_id": self.lawyer_id.data,
            "practice_area": self.text("practice_area"),
            "opened_on": self.opened_on.data,
            "evergreen_minimum_cents": self.evergreen_minimum.cents,
            "evergreen_target_cents": self.evergreen_target.cents,
            "evergreen_auto_request": bool(self.evergreen_auto_request.data),
            "notes": self.text("notes"),
        }


class MatterStatusForm(BaseForm):
    status = SelectField("Status", choices=choices([("open", "Open"), ("closed", "Closed")]))
