"""Links that leave the app (in emails, printed by a command): built on BASE_URL, never on the Host header."""

from flask import current_app


def external_url(endpoint, **values):
    """The firm's public address for an endpoint; works in a request, a command or a test alike."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path
