"""What a payer types into the card form's expiry field, on a desk or a phone's number pad (which has no "/"), and
its number and code: in any script a phone's keyboard types digits in (Arabic-Indic, full-width)."""

from datetime import date

import pytest

from trustweb.payments.cards import CardError, card_number, cvc, expiry

TODAY = date.today()
NEXT_YEAR = TODAY.year + 1
YY = f"{NEXT_YEAR % 100:02d}"


@pytest.mark.parametrize(
    "typed",
    [
        f"12/{YY}",  # as printed on the card
        f"12{YY}",  # the phone's number pad: four digits
        f"12 / {NEXT_YEAR}",
        f"12/{NEXT_YEAR}",
        f"12{NEXT_YEAR}",  # six digits
        f"12 {YY}",
        f"12-{YY}",
        f"12.{YY}",
        f"  12/{YY}  ",
    ],
)
def test_the_ways_a_payer_types_december_next_year(typed):
    assert expiry(typed, TODAY) == (12, NEXT_YEAR)


@pytest.mark.parametrize("typed", [f"1/{YY}", f"01/{YY}", f"01{YY}", f"1 / {NEXT_YEAR}"])
def test_january_with_or_without_its_leading_zero(typed):
    assert expiry(typed, TODAY) == (1, NEXT_YEAR)


def test_this_month_is_still_good_and_last_month_has_expired():
    assert expiry(f"{TODAY.month:02d}{TODAY.year % 100:02d}", TODAY) == (TODAY.month, TODAY.year)
    last = date(TODAY.year - 1, 12, 1) if TODAY.month == 1 else date(TODAY.year, TODAY.month - 1, 1)
    with pytest.raises(CardError, match="This card has expired."):
        expiry(f"{last.month:02d}{last.year % 100:02d}", TODAY)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (f"13/{YY}", "The expiry month must be 01 to 12."),
        (f"13{YY}", "The expiry month must be 01 to 12."),
        (f"00/{YY}", "The expiry month must be 01 to 12."),
        (f"0{YY}".rjust(4, "0"), "The expiry month must be 01 to 12."),
        (f"12/{TODAY.year - 1}", "This card has expired."),
        (f"12{(TODAY.year - 1) % 100:02d}", "This card has expired."),
        (f"12/{TODAY.year + 30}", "Check the expiry year."),
        ("", "Enter the expiry date as MM/YY."),
        (None, "Enter the expiry date as MM/YY."),
        ("tomorrow", "Enter the expiry date as MM/YY."),
        ("ab/cd", "Enter the expiry date as MM/YY."),
        (f"12/{YY}x", "Enter the expiry date as MM/YY."),
        ("123", "Enter the expiry date as MM/YY."),  # 1/23 or 12/3: not guessed
        ("12345", "Enter the expiry date as MM/YY."),
        (f"12/{NEXT_YEAR}0", "Enter the expiry date as MM/YY."),
        ("12//30", "Enter the expiry date as MM/YY."),
        (f"12/{YY}²", "Enter the expiry date as MM/YY."),  # a superscript is not a digit
        ("١٢/١٢/٣٠", "Enter the expiry date as MM/YY."),
    ],
)
def test_what_is_refused_says_why(typed, message):
    with pytest.raises(CardError) as refused:
        expiry(typed, TODAY)
    assert str(refused.value) == message


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EASTERN_ARABIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")  # Persian and Urdu keyboards
FULL_WIDTH = str.maketrans("0123456789/-. ", "０１２３４５６７８９／－．　")


@pytest.mark.parametrize(
    "typed",
    [
        f"12/{YY}".translate(ARABIC_INDIC),  # ١٢/٣٠: a phone's keyboard in an Arabic locale
        f"12{YY}".translate(ARABIC_INDIC),  # its number pad: four digits
        f"12{NEXT_YEAR}".translate(EASTERN_ARABIC),
        f"12/{YY}".translate(FULL_WIDTH),  # １２／３０
        f"12 {NEXT_YEAR}".translate(FULL_WIDTH),  # with an ideographic space
        f"12\u00a0/\u00a0{YY}",  # non-breaking spaces, as a pasted date carries them
        f"12\u202f{YY}",  # a narrow no-break space
        f"12\u2013{YY}",  # an en dash
        f"\u200f12/{YY}\u200f",  # the right-to-left marks an Arabic keyboard adds
    ],
)
def test_december_next_year_typed_in_another_script_or_with_other_spaces(typed):
    assert expiry(typed, TODAY) == (12, NEXT_YEAR)


@pytest.mark.parametrize(
    "typed",
    [
        "4242 4242 4242 4242",
        "4242 4242 4242 4242".translate(ARABIC_INDIC),
        "4242-4242-4242-4242".translate(FULL_WIDTH),
        "4242\u00a04242\u00a04242\u00a04242",
        "\u200f4242 4242 4242 4242".translate(EASTERN_ARABIC),
    ],
)
def test_a_card_number_in_any_script_is_its_ascii_digits(typed):
    assert card_number(typed) == "4242424242424242"


@pytest.mark.parametrize(
    ("typed", "code"), [("123", "123"), ("١٢٣", "123"), ("１２３４", "1234"), ("\u00a0۱۲۳ ", "123")]
)
def test_a_security_code_in_any_script_is_its_ascii_digits(typed, code):
    assert cvc(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("4242 4242 4242 424²", "Enter the card number as it appears on the card (12 to 19 digits)."),
        ("4242 4242 4242 4241".translate(ARABIC_INDIC), "That card number is not valid; check it for a typo."),
    ],
)
def test_a_card_number_that_is_still_wrong_says_why(typed, message):
    with pytest.raises(CardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        card_number(typed)


@pytest.mark.parametrize("typed", ["١٢", "12³", "١٢٣٤٥"])
def test_a_security_code_that_is_still_wrong_says_why(typed):
    with pytest.raises(CardError, match="Enter the 3 or 4 digit security code"):
        cvc(typed)
