"""Whether a waiting email still makes sense: the worker asks before sending, the Outbox page before showing it.

An email that carries a live link is only worth sending while the link works: a
request or invoice not yet paid or voided and its pay link not revoked or
expired, an invitation or portal sign-in link not yet used, expired or replaced, a payment from trust not yet
made or disputed, a link to save a payment method not yet used or ended.
"""

from trustweb.models import ApplicationStatus, OutboxMessage
from trustweb.models.requests import LinkState
from trustweb.services import requests as request_service
from trustweb.services.invoice_trust import application_for_notice
from trustweb.services.method_setup import link_for_token as method_link_for_token
from trustweb.services.method_setup import link_state as method_link_state
from trustweb.services.portal import link_for_token as portal_link_for_token
from trustweb.services.users import user_for_invite


def stale_reason(message: OutboxMessage) -> str | None:
    """Why an email carrying a link should no longer go (its request paid or voided, its link ended), or None."""
    if not message.link_url:
        return None
    token = message.link_url.rstrip("/").rsplit("/", 1)[-1]
    if "/auth/invite/" in message.link_url:
        if user_for_invite(token) is None:
            return "Not sent: the invitation was accepted, replaced or withdrawn before it went out."
        return None
    if "/portal/sign-in/" in message.link_url:
        if portal_link_for_token(token) is None:
            return "Not sent: the sign-in link expired, was used, or the client's portal access was revoked."
        return None
    if "/methods/" in message.link_url:
        state = method_link_state(method_link_for_token(token))
        if state != "open":
            return f"Not sent: the link to save a payment method was {state} before it went out."
        return None
    if "/notice/" in message.link_url:
        application = application_for_notice(token)
        if application is None or application.status != ApplicationStatus.SCHEDULED:
            done = {ApplicationStatus.APPLIED: "was made", ApplicationStatus.DISPUTED: "was disputed"}
            what = done.get(ApplicationStatus(application.status), "was cancelled") if application else "was withdrawn"
            return f"Not sent: the payment from trust it announces {what} before it went out."
        return None
    link = request_service.link_for_token(token)
    state = request_service.link_state(link)
    if state == LinkState.OPEN:
        return None
    number = link.payable.number if link is not None else "The request"
    return {
        LinkState.PAID: f"Not sent: {number} was paid in full before this email went out.",
        LinkState.VOID: f"Not sent: {number} was voided before this email went out.",
        LinkState.REVOKED: f"Not sent: its pay link for {number} was revoked before it went out.",
        LinkState.EXPIRED: f"Not sent: its pay link for {number} expired before it went out.",
    }.get(state, "Not sent: its pay link no longer exists.")
