"""What counts as a photo: the type by its first bytes, and what is stored of it."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from gateway.media import images
from gateway.media.checks import MediaType, content_problem, declared_type, sniff
from support.images import gif, huge_png, jpeg, png, webp


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("image/jpeg", MediaType.JPEG),
        ("IMAGE/PNG", MediaType.PNG),
        ("image/gif; name=x.gif", MediaType.GIF),
        (" image/webp ", MediaType.WEBP),
        ("image/jpg", None),  # not a registered type: the contract names four
        ("image/svg+xml", None),  # scripts can live in an SVG
        ("text/html", None),
        ("", None),
        (None, None),
    ],
)
def test_declared_type_accepts_only_the_four_image_types(header, expected) -> None:
    assert declared_type(header) is expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (jpeg()[:12], MediaType.JPEG),
        (png()[:12], MediaType.PNG),
        (gif()[:12], MediaType.GIF),
        (webp()[:12], MediaType.WEBP),
        (b"GIF87a......", MediaType.GIF),
        (b"RIFF\x00\x00\x00\x00WAVE", None),  # RIFF, but audio
        (b"<svg xmlns=", None),
        (b"<html><script>", None),
        (b"\x00\x00\x00\x18ftypheic", None),  # HEIC: not accepted
        (b"", None),
    ],
)
def test_sniff_names_the_type_by_its_magic_bytes(head: bytes, expected) -> None:
    assert sniff(head) is expected


@pytest.mark.parametrize(
    ("declared", "head", "problem"),
    [
        (MediaType.PNG, png()[:12], None),
        (MediaType.JPEG, png()[:12], "expected image/jpeg bytes, but they are image/png"),
        (MediaType.GIF, b"<html>", "expected image/gif bytes, but they are not an image of an accepted type"),
    ],
)
def test_content_problem_says_what_was_expected_and_what_arrived(declared, head, problem) -> None:
    assert content_problem(declared, head) == problem


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_jpeg_loses_exif_gps_xmp_and_comment() -> None:
    original = jpeg()
    assert b"PhoneMaker" in original and b"Elm Street" in original  # the fixture carries them
    cleaned = images.prepare(MediaType.JPEG, original)
    opened = _opened(cleaned)
    assert opened.format == "JPEG" and opened.size == (32, 16)
    assert not opened.getexif() and not opened.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "comment" not in opened.info and "xmp" not in opened.info and "exif" not in opened.info
    assert b"PhoneMaker" not in cleaned and b"Elm Street" not in cleaned


def test_a_jpeg_taken_sideways_is_stored_upright() -> None:
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise to show it.
    cleaned = _opened(images.prepare(MediaType.JPEG, jpeg(width=32, height=16, orientation=6)))
    assert cleaned.size == (16, 32)
    top, bottom = cleaned.convert("RGB").getpixel((8, 2)), cleaned.convert("RGB").getpixel((8, 29))
    assert top[0] > 200 and bottom[2] > 200  # red (the left half) is now on top, blue below


def test_an_upright_jpeg_keeps_its_pixels() -> None:
    cleaned = _opened(images.prepare(MediaType.JPEG, jpeg(orientation=1))).convert("RGB")
    assert cleaned.getpixel((2, 8))[0] > 200 and cleaned.getpixel((29, 8))[2] > 200


@pytest.mark.parametrize(("media_type", "make"), [(MediaType.PNG, png), (MediaType.GIF, gif), (MediaType.WEBP, webp)])
def test_other_types_are_stored_byte_for_byte(media_type: MediaType, make) -> None:
    data = make()
    assert images.prepare(media_type, data) == data


@pytest.mark.parametrize(
    ("media_type", "data"),
    [
        (MediaType.JPEG, b"\xff\xd8\xff\xe0" + b"\x00" * 64),  # a JPEG header and nothing after
        (MediaType.PNG, png()[:40]),  # cut short
        (MediaType.GIF, b"GIF89a" + b"\x00" * 4),
        (MediaType.WEBP, b"RIFF\x10\x00\x00\x00WEBPVP8 junk"),
    ],
)
def test_bytes_that_only_start_like_an_image_are_refused(media_type: MediaType, data: bytes) -> None:
    with pytest.raises(images.NotAnImage):
        images.prepare(media_type, data)


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    bomb = huge_png(10_000, 10_000)  # 100 MP in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(images.TooManyPixels):
        images.prepare(MediaType.PNG, bomb)
