"""Small real images for photo tests, made with Pillow: a camera-like JPEG carries EXIF with a
GPS position, an orientation, XMP and a comment, as a phone's photo would."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

GPS_LATITUDE = (40.0, 26.0, 46.14)  # 40° 26' 46.14" N: where the customer lives


def jpeg(*, width: int = 32, height: int = 16, orientation: int | None = None, metadata: bool = True) -> bytes:
    """A JPEG whose left half is red and right half blue, so a turn shows."""
    image = Image.new("RGB", (width, height), "red")
    image.paste("blue", (width // 2, 0, width, height))
    options: dict = {"quality": 95}
    if metadata:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneMaker"
        exif[ExifTags.Base.Model] = "Phone 15"
        if orientation is not None:
            exif[ExifTags.Base.Orientation] = orientation
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
        gps[ExifTags.GPS.GPSLongitudeRef] = "W"
        gps[ExifTags.GPS.GPSLongitude] = (79.0, 58.0, 56.0)
        options["exif"] = exif.tobytes()
        options["comment"] = b"taken at 12 Elm Street"
        options["xmp"] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Elm Street</x:xmpmeta>'
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 255)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8), 1).save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "yellow").save(out, "WEBP")
    return out.getvalue()


def huge_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A PNG of few bytes that unfolds to width x height pixels: a decompression bomb."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()
