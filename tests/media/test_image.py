"""Image decoding: modes, transparency, EXIF orientation, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from savbench.data import MediaRef
from savbench.media import MediaError, load_image
from tests.conftest import shared_file


def test_real_jpeg() -> None:
    path = shared_file("media", "761183272.jpg")
    image = load_image(path)
    with Image.open(path) as reference:
        assert image.shape == (reference.height, reference.width, 3) and image.dtype == np.uint8
    assert load_image(MediaRef(data=path.read_bytes(), label="x")).shape == image.shape


def test_modes_become_rgb(tmp_path: Path) -> None:
    Image.new("L", (5, 4), 77).save(tmp_path / "grey.png")
    assert (load_image(tmp_path / "grey.png") == 77).all()
    palette = Image.new("P", (5, 4), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png")[0, 0].tolist() == [10, 20, 30]
    Image.new("CMYK", (3, 3), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    red = load_image(tmp_path / "cmyk.jpg")[1, 1]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert (load_image(tmp_path / "clear.png") == 255).all()
    Image.new("LA", (4, 4), (0, 255)).save(tmp_path / "opaque_black.png")
    assert (load_image(tmp_path / "opaque_black.png") == 0).all()


def test_sixteen_bit_greyscale_is_scaled(tmp_path: Path) -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert load_image(tmp_path / "deep.png")[0, :, 0].tolist() == [0, 128, 255]  # not clipped to white


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = np.zeros((2, 6, 3), np.uint8)
    stored[0, 0] = 255  # top-left as stored
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    image.save(tmp_path / "r.png", exif=exif)
    upright = load_image(tmp_path / "r.png")
    assert upright.shape == (6, 2, 3)
    assert upright[0, -1].tolist() == [255, 255, 255]  # now top-right


def expect_error(path: Path, reason: str) -> None:
    with pytest.raises(MediaError, match=reason) as info:
        load_image(path)
    assert info.value.path == str(path) and info.value.stream == "image"


def test_bad_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expect_error(tmp_path / "missing.jpg", "file not found")
    (tmp_path / "text.jpg").write_text("not an image")
    expect_error(tmp_path / "text.jpg", "not an image")
    Image.new("RGB", (64, 64), (10, 200, 30)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    expect_error(tmp_path / "cut.jpg", "corrupt or truncated")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    expect_error(tmp_path / "full.jpg", "too large")
