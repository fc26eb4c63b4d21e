"""QR codes as inline SVG (segno): a printed request's pay link, a checkout page for the client's phone.

The SVG goes into the page itself, so neither a browser nor WeasyPrint fetches anything to draw it. No Flask, no
database.
"""

import segno
from markupsafe import Markup, escape


def qr_svg(data: str, label: str, scale: int = 3) -> Markup:
    """The QR code of `data` as an <svg> element named by `label` for a screen reader (and its <title>)."""
    code = segno.make(data, error="m", micro=False)
    svg = code.svg_inline(scale=scale, title=label, svgclass="qrcode", lineclass=None)
    # segno writes the SVG from the code's modules and escapes the title itself; the label is escaped here.
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S704
