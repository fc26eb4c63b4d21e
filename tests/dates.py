"""Dates counted from the firm's today, so a test means the same thing on any day it runs.

A test that writes a literal date ages: one day its "last month" is a year ago, or its "next week" has passed.
Months are counted back from the firm's current month; a day of a month is at most the 28th, which every month has.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import has_app_context

from trustweb.models.firm import DEFAULTS
from trustweb.services import trust


def today():
    """The firm's today: in its time zone inside an app context, in the default one outside (as a new firm has)."""
    if has_app_context():
        return trust.firm_today()
    return datetime.now(ZoneInfo(DEFAULTS["timezone"])).date()


def days_ago(n):
    return today() - timedelta(days=n)


def days_ahead(n):
    return today() + timedelta(days=n)


def month_start(months_back=0):
    """The first day of the month `months_back` months before this one (0: this month)."""
    this = today()
    index = this.year * 12 + this.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def month_end(months_back=0):
    """The last day of the month `months_back` months before this one."""
    return month_start(months_back - 1) - timedelta(days=1)


def month_day(months_back, day):
    """Day `day` (1 to 28) of the month `months_back` months before this one."""
    assert 1 <= day <= 28, "every month has a 28th; not every month has a 29th"
    return month_start(months_back).replace(day=day)


def iso(day):
    """2026-11-02: how dates are typed into the app's forms and URLs."""
    return day.isoformat()


def us(day):
    """11/02/2026: how a US bank's CSV statement writes a date."""
    return day.strftime("%m/%d/%Y")


def card_expiry():
    """MM/YY of a card that has years to run: December three years from now."""
    return f"12/{(today().year + 3) % 100:02d}"
