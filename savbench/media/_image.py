"""Image decoding with PIL: EXIF orientation applied, any mode converted to 8-bit RGB."""

from __future__ import annotations

import warnings

import numpy as np

from savbench.media._source import MediaLike, as_ref, check_readable, open_binary
from savbench.media._types import MediaError


def load_image(media: MediaLike) -> np.ndarray:
    """Decode an image to an upright (H, W, 3) uint8 RGB array.

    Palette, greyscale, CMYK and 16-bit images are converted to 8-bit RGB; transparency is
    composited on white; the EXIF orientation tag is applied; an animated image gives its
    first frame.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes) or a path.

    Raises:
        MediaError: Missing, unreadable or empty file, not an image, truncated or corrupt,
            or too large to decode safely. The error names the file and the reason.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    ref = as_ref(media)
    check_readable(ref, "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(open_binary(ref)) as image:
                image.load()
                array = _to_rgb(ImageOps.exif_transpose(image))
    except UnidentifiedImageError:
        raise MediaError(ref.name, "image", "not an image file PIL can read (unknown format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(ref.name, "image", f"image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(ref.name, "image", f"corrupt or truncated image ({exc})") from None
    if array.size == 0:
        raise MediaError(ref.name, "image", "the image has no pixels")
    return np.ascontiguousarray(array, dtype=np.uint8)


def _to_rgb(image) -> np.ndarray:  # noqa: ANN001 - a PIL image
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        grey = np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return np.asarray(background)
    return np.asarray(image.convert("RGB"))
