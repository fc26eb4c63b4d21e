"""Response headers that every page carries."""

from flask import current_app, request

from trustweb.config import HTMX_CDN_URL


def content_security_policy():
    script_src = "'self'"
    if current_app.config["HTMX_SOURCE"] == "cdn":
        script_src += " " + HTMX_CDN_URL
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_src}",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # The same URL answers htmx with a partial and browsers with a page.
    headers.add("Vary", "HX-Request")
    if response.mimetype == "text/html" and request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response
