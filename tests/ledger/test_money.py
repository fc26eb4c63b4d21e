"""Money parsing and formatting: integer cents in, exact text out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustweb.ledger.money import MAX_CENTS, MoneyError, cents_to_decimal, format_cents, parse_cents, plain_cents


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1,234.50", 123450),
        ("1234.5", 123450),
        ("$12", 1200),
        ("0.01", 1),
        (" 7 ", 700),
        (".5", 50),
        ("12.", 1200),
        ("1,000,000", 100_000_000),
    ],
)
def test_what_people_type_is_understood(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.234", "like 1,234.50"),
        ("-5", "negative"),
        ("abc", "like 1,234.50"),
        ("1e3", "like 1,234.50"),
        ("1,23", "like 1,234.50"),
        ("", "Enter an amount"),
        ("0", "more than zero"),
        ("1000000001", "more than"),
        ("NaN", "like 1,234.50"),
        ("١٢٣", "like 1,234.50"),
        ("12..5", "like 1,234.50"),
    ],
)
def test_ambiguous_or_wrong_amounts_are_refused(text, message):
    with pytest.raises(MoneyError, match=message):
        parse_cents(text)


def test_zero_is_allowed_when_asked():
    assert parse_cents("0.00", allow_zero=True) == 0


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_plain_text_round_trips(cents):
    assert parse_cents(plain_cents(cents)) == cents


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_formatted_text_round_trips(cents):
    assert parse_cents(format_cents(cents, "USD")) == cents


@given(st.text(max_size=20))
def test_any_text_gives_cents_or_a_clear_refusal(text):
    try:
        cents = parse_cents(text)
    except MoneyError as error:
        assert str(error)
    else:
        assert isinstance(cents, int) and 0 < cents <= MAX_CENTS


def test_floats_are_not_money():
    with pytest.raises(TypeError):
        cents_to_decimal(12.5)
    with pytest.raises(TypeError):
        cents_to_decimal(True)


@pytest.mark.parametrize("currency", ["USD", "CAD", "EUR", "GBP", "AUD", "NZD"])
@given(cents=st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_fast_formatting_matches_babel(currency, cents):
    from babel.numbers import format_currency

    assert format_cents(cents, currency) == format_currency(cents_to_decimal(cents), currency, locale="en_US")
