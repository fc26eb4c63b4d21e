"""In real Chromium, at a desk and on a phone: the bookkeeper filters the audit trail, opens an event, and verifies
the chain. Each page is checked for accessibility (axe), console errors and the Content-Security-Policy."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import Watched, assert_accessible, assert_fits_phone, browser_context, sign_in
from trustweb.extensions import db
from trustweb.models import AuditChainHead, User

pytestmark = pytest.mark.browser

SIZES = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_the_bookkeeper_filters_the_trail_opens_an_event_and_verifies_the_chain(
    chromium, live_server, app, office, size
):
    with app.app_context():
        email = db.session.get(User, office.bookkeeper).email

    with browser_context(chromium, viewport=SIZES[size]) as context:
        watched = Watched(context)
        page = watched.page
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/audit/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
        assert_accessible(page)
        watched.note_csp()

        # Filter: htmx swaps the rows and the address follows.
        page.get_by_label("Action").select_option("matter.updated")
        expect(page).to_have_url(re.compile(r"action=matter\.updated"))
        rows = page.locator("#audit-table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Description")
        expect(rows.first).to_contain_text("<script>alert('x')</script>")  # shown as text, never run
        expect(rows.first.locator("dl.changes")).to_be_visible()  # on a phone too: every field in its card
        if size == "phone":
            assert_fits_phone(page)
        assert_accessible(page)
        watched.note_csp()

        # Open the event.
        rows.first.get_by_role("link", name=re.compile(r"^Event ")).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Audit event #")
        expect(page.locator("#audit-event")).to_contain_text("matter.updated")
        expect(page.get_by_role("link", name=f"matter {office.matter}")).to_be_visible()
        if size == "phone":
            assert_fits_phone(page)
        assert_accessible(page)
        watched.note_csp()

        # Verify the chain.
        page.get_by_role("link", name="The whole trail").click()
        page.get_by_role("button", name="Verify the chain").click()
        with app.app_context():
            events = db.session.get(AuditChainHead, 1).last_seq - 1  # the check is recorded after it counted
        expect(page.locator("#messages")).to_contain_text(
            f"The audit trail is intact: {events} events, chain verified."
        )
        assert_accessible(page)
        watched.assert_clean()
