"""What a payer types into the card form's expiry field, on a desk or a phone's number pad (which has no "/")."""

from datetime import date

import pytest

from trustweb.payments.cards import CardError, expiry

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
        ("١٢/٣٠", "Enter the expiry date as MM/YY."),  # digits of another script
    ],
)
def test_what_is_refused_says_why(typed, message):
    with pytest.raises(CardError) as refused:
        expiry(typed, TODAY)
    assert str(refused.value) == message
