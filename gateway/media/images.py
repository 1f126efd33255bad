"""Opening a photo for real before it is stored: Pillow reads its header (and, for a JPEG,
its pixels) so a file that only starts like an image is refused, and a JPEG is written again
without its metadata: EXIF (GPS location, camera, time), XMP and comments.

Why re-encode a JPEG rather than cut its metadata segments out: the EXIF orientation tag is
metadata too, and phones rely on it; dropping it alone would show a portrait photo on its
side. So a JPEG is turned upright and saved afresh. One whose orientation is already upright
is saved with its own quantisation tables (`quality="keep"`), so it loses next to nothing;
a turned one is saved at quality 90. Its ICC colour profile is kept (colours, not people).

PNG, GIF and WebP are checked (Pillow must parse them as the type they claim) and stored
byte for byte: re-encoding an animated GIF or WebP is lossy and slow, and camera photos,
the ones that carry GPS tags, are JPEGs.

Every function here is CPU work: callers run it in a thread."""

from __future__ import annotations

import io
import warnings

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from gateway.media.checks import MediaType

# Pixels a photo may have: more than any phone camera's (48 MP sensors save 12 MP by
# default), far below what a 5 MB "decompression bomb" could unfold to. Checked from the
# header, before any pixel is decoded.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 90  # for a photo that had to be turned upright

_FORMATS = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG", MediaType.GIF: "GIF", MediaType.WEBP: "WEBP"}


class NotAnImage(ValueError):
    """The bytes do not open as the image type they claim to be."""


class TooManyPixels(ValueError):
    """The image unfolds to more pixels than MAX_PIXELS."""


def prepare(media_type: MediaType, data: bytes) -> bytes:
    """The bytes to store for a photo of `media_type`: a JPEG without its metadata, another
    type as it came. Raises NotAnImage or TooManyPixels."""
    image = _open(media_type, data)
    try:
        if media_type is MediaType.JPEG:
            return _clean_jpeg(image)
        image.verify()
        return data
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow's word for a broken file varies by format and step.
        raise NotAnImage(f"expected a readable {media_type.value} image: {exc}") from None
    finally:
        image.close()


def _open(media_type: MediaType, data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow's own bomb guard warns (and later raises) far above our limit; its warning
        # must not leak out as a log line, or as a test failure.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]])
        except Image.DecompressionBombError:
            raise TooManyPixels(f"expected at most {MAX_PIXELS} pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise NotAnImage(f"expected a readable {media_type.value} image: {exc}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise TooManyPixels(f"expected at most {MAX_PIXELS} pixels, got {width}x{height}")
    return image


def _clean_jpeg(image: Image.Image) -> bytes:
    icc_profile = image.info.get("icc_profile")
    # Nothing of the original's metadata is carried over unless named here.
    options: dict = {"exif": b"", "comment": b""}
    if icc_profile:
        options["icc_profile"] = icc_profile
    out = io.BytesIO()
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        upright = ImageOps.exif_transpose(image)
        upright.info = {}
        upright.save(out, "JPEG", quality=JPEG_QUALITY, **options)
    else:
        image.save(out, "JPEG", quality="keep", subsampling="keep", **options)
    return out.getvalue()
