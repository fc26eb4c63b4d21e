"""A plan's calendar: monthly on the start's day (clamped to a short month's end, never drifting), weekly and every
two weeks evenly spaced, and the first date on or after any day always a date of the schedule."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trustweb.services.plans import add_months, first_on_or_after, nth_date

starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def test_the_31st_is_charged_on_each_months_last_day_and_comes_back_to_the_31st():
    dates = [nth_date(date(2027, 1, 31), "monthly", n) for n in range(4)]
    assert dates == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert nth_date(date(2028, 1, 31), "monthly", 1) == date(2028, 2, 29)  # a leap year


@given(starts, st.integers(min_value=1, max_value=60))
def test_monthly_from_any_start_charges_once_in_every_month_never_skipping_one(start, months):
    dates = [nth_date(start, "monthly", n) for n in range(months)]
    months_charged = [(d.year, d.month) for d in dates]
    assert len(set(months_charged)) == months  # never twice in one month
    for (year, month), following in zip(months_charged, months_charged[1:], strict=False):
        assert following == ((year, month + 1) if month < 12 else (year + 1, 1))  # never a month skipped
    assert all(d.day == start.day or d == add_months(d.replace(day=1), 1) - timedelta(days=1) for d in dates)


@given(starts, st.sampled_from([("weekly", 7), ("biweekly", 14)]), st.integers(min_value=1, max_value=100))
def test_weekly_and_every_two_weeks_are_evenly_spaced_on_the_same_weekday(start, frequency, count):
    name, days = frequency
    dates = [nth_date(start, name, n) for n in range(count)]
    assert all((b - a).days == days for a, b in zip(dates, dates[1:], strict=False))
    assert {d.weekday() for d in dates} == {start.weekday()}


@given(starts, st.sampled_from(["weekly", "biweekly", "monthly"]), st.integers(min_value=0, max_value=800))
def test_the_first_date_on_or_after_a_day_is_on_the_schedule_and_none_is_between(start, frequency, later):
    day = start + timedelta(days=later)
    found = first_on_or_after(start, frequency, day)
    schedule = [nth_date(start, frequency, n) for n in range(120)]
    assert found >= day and found in schedule
    assert not any(day <= d < found for d in schedule)
