"""The administrator gives the firm a logo for the client portal: checked, shrunk, stripped of metadata, audited."""

import html
import io
import json
import os
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageCms, PngImagePlugin
from sqlalchemy import select

from tests.conftest import post
from tests.factories import gen_user
from trustweb.extensions import db
from trustweb.models import AuditEvent, FirmLogo


def png(image, **options):
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def jpeg(image, **options):
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def upload(client, data, filename="logo.png", content_type="image/png"):
    return post(client, "/settings/logo", {"image": (io.BytesIO(data), filename, content_type)})


def served(client, **headers):
    return client.get("/portal/logo", headers=headers)


def logo_events(app):
    with app.app_context():
        return [
            (json.loads(e.before or "null"), json.loads(e.after or "null"))
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "settings.logo_changed").order_by(AuditEvent.id)
            )
        ]


def letterhead():
    """A wide logo on a transparent background, carrying what no client should be sent: text and a colour profile."""
    image = Image.new("RGBA", (1200, 400), (0, 0, 0, 0))
    image.paste((31, 78, 121, 255), (100, 100, 1100, 300))
    notes = PngImagePlugin.PngInfo()
    notes.add_text("Comment", "drawn on the managing partner's laptop")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return png(image, pnginfo=notes, icc_profile=profile)


PHOTO_BANDS = ((0, 20), (90, 30), (180, 40))  # each colour's light from another side, with the sensor's grain


def office_photo():
    """A phone photo of the office sign, taken sideways (EXIF says turn it) and tagged with where it was taken."""
    ramp = Image.linear_gradient("L").resize((1600, 1200))
    bands = [ImageChops.add(ramp.rotate(turn), Image.effect_noise(ramp.size, grain), 2) for turn, grain in PHOTO_BANDS]
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    return jpeg(Image.merge("RGB", bands), quality=85, exif=exif)


def test_a_png_logo_is_shrunk_stripped_and_served_on_the_portal(app, client, admin):
    assert "no logo yet" in client.get("/settings/logo").get_data(as_text=True)
    assert served(client).status_code == 404

    response = upload(client, letterhead())
    assert response.status_code == 303
    page = client.get("/settings/logo").get_data(as_text=True)
    assert "Logo saved (600×200 pixels)" in page and "600×200 pixels, PNG" in page

    image = served(client)
    assert image.status_code == 200 and image.content_type == "image/png"
    with app.app_context():
        logo = db.session.get(FirmLogo, 1)
        assert (logo.width, logo.height, logo.content_type) == (600, 200, "image/png")
        assert image.headers["ETag"] == f'"{logo.sha256}"'
    kept = Image.open(io.BytesIO(image.data))
    assert kept.size == (600, 200) and kept.mode == "RGBA"
    assert kept.getpixel((0, 0))[3] == 0 and kept.getpixel((300, 100)) == (31, 78, 121, 255)  # still transparent
    assert "icc_profile" not in kept.info and not getattr(kept, "text", {})
    # The browser asks again with what it has: nothing is sent.
    again = served(client, **{"If-None-Match": image.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""

    [(before, after)] = logo_events(app)
    assert before is None
    assert after == {"sha256": logo.sha256, "content_type": "image/png", "bytes": len(image.data), "pixels": "600×200"}


def test_a_photo_is_kept_as_a_jpeg_upright_without_its_exif(app, client, admin):
    assert upload(client, letterhead()).status_code == 303
    first = served(client)

    # Sent as "logo.png" by a browser that says PNG: what counts is what the file is.
    assert upload(client, office_photo(), filename="logo.png", content_type="image/png").status_code == 303
    image = served(client, **{"If-None-Match": first.headers["ETag"]})
    assert image.status_code == 200 and image.content_type == "image/jpeg"
    assert image.headers["ETag"] != first.headers["ETag"]
    kept = Image.open(io.BytesIO(image.data))
    assert kept.format == "JPEG" and kept.size == (150, 200)  # turned upright, then fitted to 200 pixels high
    assert not kept.getexif() and "exif" not in kept.info

    [_, (before, after)] = logo_events(app)
    assert before["content_type"] == "image/png" and before["pixels"] == "600×200"
    assert after["content_type"] == "image/jpeg" and after["pixels"] == "150×200" and after["bytes"] == len(image.data)
    assert len(json.dumps(after)) < 200  # facts about the image, never the image


def test_a_small_logo_is_not_enlarged_and_a_plain_background_drops_its_alpha(app, client, admin):
    grey = Image.new("LA", (120, 40), (90, 255))
    assert upload(client, png(grey)).status_code == 303
    kept = Image.open(io.BytesIO(served(client).data))
    assert kept.size == (120, 40) and kept.mode == "RGB" and kept.getpixel((0, 0)) == (90, 90, 90)


def test_removing_the_logo_leaves_the_firm_name_on_the_portal(app, client, admin):
    assert upload(client, letterhead()).status_code == 303
    etag = served(client).headers["ETag"]

    response = post(client, "/settings/logo/remove")
    assert response.status_code == 303
    assert "Logo removed" in client.get("/settings/logo").get_data(as_text=True)
    assert served(client).status_code == 404
    assert served(client, **{"If-None-Match": etag}).status_code == 404
    [_, (before, after)] = logo_events(app)
    assert before["sha256"] == etag.strip('"') and after is None

    # Nothing left to remove: said so, and nothing recorded.
    post(client, "/settings/logo/remove")
    assert "no logo to remove" in client.get("/settings/logo").get_data(as_text=True)
    assert len(logo_events(app)) == 2


@pytest.mark.parametrize("role", ["lawyer", "bookkeeper", "staff"])
def test_only_an_administrator_changes_the_logo(app, client, auth, role):
    with app.app_context():
        user = gen_user(role)
    auth.login_as(user)
    assert client.get("/settings/logo").status_code == 403
    assert upload(client, letterhead()).status_code == 403
    assert post(client, "/settings/logo/remove").status_code == 403
    with app.app_context():
        assert db.session.get(FirmLogo, 1) is None
    assert logo_events(app) == []


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb(width, height):
    """A real PNG of width×height black pixels (one bit each): kilobytes that unpack to hundreds of megabytes."""
    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")


def gif():
    out = io.BytesIO()
    Image.new("P", (60, 20)).save(out, "GIF")
    return out.getvalue()


def animated():
    frames = [Image.new("RGB", (60, 20), colour) for colour in ("navy", "gold")]
    return png(frames[0], save_all=True, append_images=frames[1:])


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
BAD_FILES = {
    "empty": (b"", "logo.png", "The file is empty."),
    "text named .png": (b"Hartwell & Okafor LLP\n", "logo.png", "not a PNG or JPEG image, whatever its name says"),
    "cut short": (png(Image.new("RGB", (300, 100), "navy"))[:90], "logo.png", "damaged or incomplete"),
    "20000×20000 bomb": (bomb(20000, 20000), "logo.png", "hundreds of millions of pixels"),
    "5000×5000 bomb": (bomb(5000, 5000), "logo.png", "The image has 5000×5000 pixels"),
    "GIF": (gif(), "logo.gif", "GIF images are not accepted"),
    "SVG": (SVG, "logo.svg", "an SVG file can carry scripts. Export the logo as a PNG image"),
    "over 1 MB": (png(Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))), "logo.png", "larger than 1 MB"),
    "animated PNG": (animated(), "logo.png", "Animated images are not accepted"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_refused_with_the_reason_and_the_logo_kept(app, client, admin, name):
    data, filename, message = BAD_FILES[name]
    assert upload(client, letterhead()).status_code == 303
    with app.app_context():
        kept = db.session.get(FirmLogo, 1).sha256

    response = upload(client, data, filename)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(FirmLogo, 1).sha256 == kept
    assert served(client).headers["ETag"] == f'"{kept}"'
    assert len(logo_events(app)) == 1  # the first upload's


def test_no_file_chosen_is_asked_for(client, admin):
    response = post(client, "/settings/logo", {"image": (io.BytesIO(b""), "", "application/octet-stream")})
    assert response.status_code == 422
    assert "Choose the logo's image file" in html.unescape(response.get_data(as_text=True))


def test_a_file_beyond_what_the_server_reads_is_a_413_about_logos(app, client, admin):
    too_much = b"\x89PNG\r\n\x1a\n" + b"\0" * app.config["MAX_CONTENT_LENGTH"]
    response = upload(client, too_much)
    assert response.status_code == 413
    assert "A logo needs far less" in response.get_data(as_text=True)


def test_a_file_cut_short_is_refused_also_after_a_pdf_was_made(app, admin, client):
    """WeasyPrint switches on Pillow's padding of truncated images for the whole process when it is imported."""
    from PIL import ImageFile

    import trustweb.pdf_layout  # noqa: F401  (imports WeasyPrint, as the first PDF does)

    assert ImageFile.LOAD_TRUNCATED_IMAGES
    data, filename, message = BAD_FILES["cut short"]
    response = upload(client, data, filename)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert ImageFile.LOAD_TRUNCATED_IMAGES  # left as WeasyPrint wants it
