from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from trustweb.forms import BaseForm, choices, email_validator


class ContactForm(BaseForm):
    kind = RadioField("Type", choices=choices([("person", "Person"), ("company", "Company")]), default="person")
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    email = StringField("Email", validators=[Optional(), Length(max=254), email_validator()])
    other_email = StringField("Other email", validators=[Optional(), Length(max=254), email_validator()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def values(self):
        return {
            "kind": self.kind.data,
            "name": self.name.data,
            "email": (self.email.data or "").lower() or None,
            "other_email": (self.other_email.data or "").lower() or None,
            "phone": self.text("phone"),
            "address": self.text("address"),
            "notes": self.text("notes"),
        }
