"""Image decoding with PIL: EXIF orientation applied, any mode converted to RGB."""

from __future__ import annotations

import numpy as np

from savbench.media._source import MediaLike, as_ref, check_readable, open_binary
from savbench.media._types import MediaError


def load_image(media: MediaLike) -> np.ndarray:
    """Decode an image to a (H, W, 3) uint8 RGB array.

    Raises:
        MediaError: Missing, unreadable, empty, not an image, or truncated.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    ref = as_ref(media)
    check_readable(ref, "image")
    try:
        with Image.open(open_binary(ref)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
                background = Image.new("RGB", image.size, (255, 255, 255))
                background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
                image = background
            array = np.asarray(image.convert("RGB"))
    except UnidentifiedImageError:
        raise MediaError(ref.name, "image", "not an image file PIL can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(ref.name, "image", f"corrupt or truncated image ({exc})") from None
    if array.size == 0:
        raise MediaError(ref.name, "image", "the image has no pixels")
    return np.ascontiguousarray(array, dtype=np.uint8)
