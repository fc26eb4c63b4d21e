"""The firm's logo, checked and remade with Pillow before it is kept: pure, no Flask, no database.

A logo comes from a person's computer and is shown to every client, so none of the uploaded file is kept: it is
recognised by its first bytes (never by its name or the browser's word), its size in pixels is checked from its
header before a pixel is decoded (a small file can unpack into gigabytes), and what is kept is a new image drawn
from its pixels alone: no metadata (EXIF with a camera's GPS position, comments, colour profiles), no frames but
one, at most LOGO_BOX in size. The first thing wrong raises LogoFileError with a sentence for the person.
"""

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps

MAX_BYTES = 2**20
# Pixels a logo may have before it is decoded (a 4000×4000 image, or a 16-megapixel photo): the largest costs
# 64 MB as RGBA while it is shrunk. Checked from the header, so a "bomb" is refused before it unpacks.
MAX_PIXELS = 16_000_000
LOGO_BOX = (600, 200)
# A JPEG is kept instead of the PNG only when it is less than this share of the PNG's size (a photo).
JPEG_SHARE = 0.5

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
EXPORT = "Save or export the logo as a PNG (or JPEG) image and choose that file."


class LogoFileError(ValueError):
    """An image that cannot be the firm's logo; the message says why, for the person who chose it."""


@dataclass(frozen=True)
class Logo:
    """The image as it is kept and served."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def normalise_logo(data: bytes) -> Logo:
    """The uploaded file as the firm's logo: checked, fitted within LOGO_BOX, stripped of metadata, re-encoded."""
    image = _decoded(data, _kind(data))
    image = _plain_colours(image)
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)  # only ever shrinks, keeping the aspect ratio
    return _encoded(image)


def _kind(data: bytes) -> str:
    """Pillow's name of the format the bytes are in, or the reason they cannot be a logo."""
    if not data:
        raise LogoFileError(f"The file is empty. {EXPORT}")
    if len(data) > MAX_BYTES:
        raise LogoFileError(
            f"The file is larger than {MAX_BYTES // 2**20} MB. A logo needs far less: "
            "export it smaller (at most 600×200 pixels is kept), as PNG or JPEG."
        )
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(JPEG_SIGNATURE):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        raise LogoFileError(f"GIF images are not accepted. {EXPORT}")
    if b"<svg" in data[:2048].lower():
        raise LogoFileError(
            "SVG images are not accepted: an SVG file can carry scripts. Export the logo as a PNG image "
            "(most drawing programs offer File › Export › PNG) and choose that file."
        )
    raise LogoFileError(f"This file is not a PNG or JPEG image, whatever its name says. {EXPORT}")


def _decoded(data: bytes, kind: str) -> Image.Image:
    """The image's pixels, upright, once its size and frames are known to be acceptable."""
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])  # reads the header only
        if image.width * image.height > MAX_PIXELS:
            raise LogoFileError(_too_many_pixels(f"{image.width}×{image.height} pixels"))
        if kind == "PNG" and getattr(image, "is_animated", False):
            raise LogoFileError(f"Animated images are not accepted. {EXPORT}")
        # WeasyPrint, once imported, tells Pillow to pad a truncated image with grey (a process-wide switch): a
        # logo is read whole or refused, whatever this process has printed before.
        truncated_ok, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
        return ImageOps.exif_transpose(image)  # a photo's camera turn applied, since EXIF is not kept
    except LogoFileError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, far beyond ours, met in open()
        raise LogoFileError(_too_many_pixels("hundreds of millions of pixels")) from None
    except Exception:  # a damaged file makes Pillow raise OSError, SyntaxError, ValueError, struct.error...
        raise LogoFileError(
            f"The {kind} file is damaged or incomplete (perhaps cut short while copying). "
            "Open it in an image program, save it again and choose the new file."
        ) from None


def _too_many_pixels(size: str) -> str:
    """Why an image too large to unpack is refused, with its size in pixels as far as it is known."""
    return (
        f"The image has {size}; a logo may have at most {MAX_PIXELS // 1_000_000} million (4000×4000). "
        f"Export it smaller: what is kept is at most {LOGO_BOX[0]}×{LOGO_BOX[1]} pixels."
    )


def _plain_colours(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when some of it is see-through."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit grey: scaled, not clipped to white
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    image = image.convert("RGBA" if transparent else "RGB")
    if transparent and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # an alpha channel nothing shows through
    return image


def _encoded(image: Image.Image) -> Logo:
    """PNG, or JPEG when that is much smaller (a photo); written from the pixels alone, without metadata."""
    clean = image.copy()
    clean.info = {}  # PNG's encoder would otherwise write the source's colour profile back
    candidates = [("image/png", _save(clean, "PNG", optimize=True))]
    if clean.mode == "RGB":
        jpeg = _save(clean, "JPEG", quality=88, optimize=True)
        if len(jpeg) < JPEG_SHARE * len(candidates[0][1]):
            candidates.insert(0, ("image/jpeg", jpeg))
    content_type, data = candidates[0]
    return Logo(data, content_type, clean.width, clean.height, hashlib.sha256(data).hexdigest())


def _save(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()
