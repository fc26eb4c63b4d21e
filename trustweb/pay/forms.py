from datetime import date

from wtforms import BooleanField, EmailField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from trustweb.forms import BaseForm, MoneyField, email_validator
from trustweb.payments import CardDetails
from trustweb.payments.cards import CardError, card_number, cvc, expiry


def card_check(parse):
    def check(form, field):
        try:
            parse(field.data)
        except CardError as error:
            raise ValidationError(str(error)) from error

    return check


class CheckoutForm(BaseForm):
    """The amount to pay; the checkout key makes a second post of the same form a no-op."""

    checkout = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{20,64}$")])
    amount = MoneyField("Amount to pay", validators=[DataRequired("Enter the amount to pay.")], allow_zero=True)
    email = EmailField("Email for your receipt", validators=[Optional(), Length(max=254), email_validator()])


class CardFields:
    """A card's fields on our own page (the test processor), for a form to take in: name, number, expiry, code."""

    name = StringField(
        "Name on card",
        validators=[DataRequired("Enter the name on the card."), Length(max=200)],
        render_kw={"autocomplete": "cc-name"},
    )
    number = StringField(
        "Card number",
        validators=[card_check(card_number)],
        render_kw={"inputmode": "numeric", "autocomplete": "cc-number"},
    )
    # inputmode numeric: a phone shows its number pad, which has no "/"; the parser takes the digits alone
    # (1230 or 122030) as well as 12/30, so the pad is the quickest way in and a typed "/" still works on a desk.
    expiry = StringField(
        "Expiry (MM/YY)",
        validators=[card_check(lambda text: expiry(text, date.today()))],
        render_kw={"inputmode": "numeric", "autocomplete": "cc-exp", "placeholder": "MM/YY"},
    )
    cvc = StringField(
        "Security code (CVC)",
        validators=[card_check(cvc)],
        render_kw={"inputmode": "numeric", "autocomplete": "cc-csc"},
    )

    def card(self):
        month, year = expiry(self.expiry.data, date.today())
        return CardDetails(
            number=card_number(self.number.data),
            exp_month=month,
            exp_year=year,
            cvc=cvc(self.cvc.data),
            name=self.name.data,
        )

    def forget_card(self):
        """The number and code are never shown back (the form comes again after an error)."""
        self.number.data = self.cvc.data = ""
        return self


class CardForm(CardFields, BaseForm):
    """A card typed on our own page (the test processor) to save for later."""


class PayForm(CardFields, CheckoutForm):
    """The client's card payment on our own page (the test processor), optionally saved for later."""

    save_card = BooleanField("Save this card for future payments")
