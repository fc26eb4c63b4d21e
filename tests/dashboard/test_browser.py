"""In real Chromium, at 390 px and 1280 px: the Dashboard's charts are drawn, fit the screen, open their figures
and pass axe, with no console error and no Content-Security-Policy violation."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, Watched, assert_accessible, assert_fits_phone, browser_context, sign_in
from tests.dashboard.steps import gen_year
from trustweb.extensions import db
from trustweb.models import User

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}}
CHARTS = ("chart-held-usd", "chart-held-cad", "chart-received-usd", "chart-received-cad", "chart-ageing-usd")


@pytest.fixture
def lawyer_email(app):
    with app.app_context():
        return db.session.get(User, gen_year().lawyer).email


@pytest.mark.parametrize("screen", [PHONE, DESK], ids=["phone", "desk"])
def test_the_charts_are_drawn_fit_the_screen_and_show_their_figures(
    chromium, live_server, lawyer_email, screen, tmp_path
):
    width = screen["viewport"]["width"]
    with browser_context(chromium, **screen) as context:
        lawyer = Watched(context)
        page = lawyer.page
        sign_in(page, live_server, lawyer_email)
        for chart_id in CHARTS:
            figure = page.locator(f"#{chart_id}")
            svg = figure.locator("svg")
            expect(svg).to_be_visible()
            drawn, held_in = svg.bounding_box(), figure.bounding_box()
            assert 300 <= drawn["width"] <= min(width, 640), (chart_id, drawn)
            assert held_in["x"] >= 0 and held_in["x"] + held_in["width"] <= width, (chart_id, held_in)
            # Every axis label is inside the picture: none cut off at its left edge.
            for label in svg.locator(".chart-y").all():
                assert label.bounding_box()["x"] >= drawn["x"] - 1, (chart_id, label.text_content())
        expect(page.locator("#chart-held-usd polyline")).to_have_count(1)
        expect(page.locator("#chart-received-usd rect")).to_have_count(1)  # one month with payments
        expect(page.get_by_role("img", name="Held in trust at each month end, in CAD", exact=False)).to_be_visible()

        figures = page.locator("#chart-ageing-usd")
        figures.get_by_text("Show the figures").click()
        expect(figures.locator("table")).to_be_visible()
        expect(figures.locator("tbody tr").nth(1)).to_contain_text("$200.00")
        if width == 390:
            assert_fits_phone(page)
        assert_accessible(page)
        page.screenshot(path=tmp_path / f"dashboard-{width}.png", full_page=True)  # to look at when it fails
        lawyer.assert_clean()
