"""load_usps checks its pixels (issue 26): usps.h5 against its registered
digest, and every file's values against the documented range."""

from __future__ import annotations

import gzip
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from sktransfer.datasets import _base, _usps, load_usps

h5py = pytest.importorskip("h5py")

CANONICAL_SHA256 = "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36"


def _write_h5(path: Path, data: np.ndarray, target=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = np.arange(len(data), dtype=np.int32) % 10 if target is None else target
    with h5py.File(path, "w") as f:
        for name in ("train", "test"):
            f.create_dataset(f"{name}/data", data=data)
            f.create_dataset(f"{name}/target", data=target)
    return path


def _esl(pixels: np.ndarray) -> bytes:
    lines = [
        " ".join([f"{i % 10:.4f}", *(f"{v:.3f}" for v in row)])
        for i, row in enumerate(pixels)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


@pytest.fixture(autouse=True)
def _fresh_memos(monkeypatch):
    monkeypatch.setattr(_base, "_VERIFIED", {})
    monkeypatch.setattr(_usps, "_WARNED_OTHER_COPY", set(), raising=False)


def test_usps_h5_digest_is_registered():
    remote = _usps._FILES["usps.h5"]
    assert remote.checksum == ("sha256", CANONICAL_SHA256)


def _pixels(value, n=4) -> np.ndarray:
    data = np.full((n, 256), 0.5, np.float32)
    data[1, 3] = value
    return data


@pytest.mark.parametrize(
    "data, match",
    [
        (np.full((4, 256), 200.0, np.float32), r"range over \[200, 200\].*0\.\.255"),
        (_pixels(np.nan), "1 of them are NaN or infinite"),
        (_pixels(np.inf), "1 of them are NaN or infinite"),
        (_pixels(-0.5), r"must lie in \[0, 1\]"),
    ],
    ids=["0-255", "nan", "inf", "negative"],
)
def test_h5_with_bad_pixels_is_refused_naming_the_file(tmp_path, data, match):
    path = _write_h5(tmp_path / "usps" / "usps.h5", data)
    with pytest.raises(ValueError, match=match) as info:
        load_usps(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(path) in message and "the train pixels" in message
    assert "zip.train.gz" in message  # the remedy


def test_h5_with_fractional_labels_is_refused(tmp_path):
    _write_h5(
        tmp_path / "usps" / "usps.h5",
        np.full((4, 256), 0.5, np.float32),
        target=np.array([0.0, 1.5, 2.0, 3.0]),
    )
    with pytest.raises(ValueError, match="labels are not whole numbers"):
        load_usps(data_home=tmp_path)


def test_other_h5_copy_with_valid_values_loads_with_one_warning(tmp_path):
    _write_h5(tmp_path / "usps" / "usps.h5", np.full((4, 256), 0.25, np.float32))
    with pytest.warns(UserWarning, match="not the registered usps.h5") as record:
        X, y = load_usps(data_home=tmp_path, return_X_y=True)
    assert CANONICAL_SHA256 in str(record[0].message)
    assert np.all(X == 0.25) and y.tolist() == [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process and file version
        load_usps(subset="test", data_home=tmp_path)


@pytest.mark.parametrize(
    "value, match",
    [
        (5.0, r"must lie in \[-1, 1\], but they range over \[-1, 5\]"),
        (float("nan"), "1 of them are NaN or infinite"),
        (float("-inf"), "1 of them are NaN or infinite"),
    ],
    ids=["5.0", "nan", "-inf"],
)
def test_esl_file_with_bad_pixels_is_refused_naming_the_file(tmp_path, value, match):
    pixels = np.zeros((3, 256))
    pixels[0] = -1.0
    pixels[2, 7] = value
    path = tmp_path / "usps" / "zip.test.gz"
    path.parent.mkdir()
    path.write_bytes(_esl(pixels))
    with pytest.raises(ValueError, match=match) as info:
        load_usps(subset="test", data_home=tmp_path, download_if_missing=False)
    assert str(path) in str(info.value)
    assert "delete it so that it is downloaded again" in str(info.value)


def test_esl_file_in_range_still_loads(tmp_path):
    pixels = np.linspace(-1, 1, 3 * 256).reshape(3, 256).round(3)
    path = tmp_path / "usps" / "zip.test.gz"
    path.parent.mkdir()
    path.write_bytes(_esl(pixels))
    X, _ = load_usps(subset="test", data_home=tmp_path, return_X_y=True)
    assert X.min() == 0.0 and X.max() == 1.0


def _real_h5() -> Path:
    home = os.environ.get("SKTRANSFER_DATA")
    path = Path(home or "", "usps", "usps.h5")
    if not home or not path.is_file():
        pytest.skip("the real usps.h5 is not in SKTRANSFER_DATA")
    return path


def test_registered_h5_loads_without_warning(tmp_path):
    copy = tmp_path / "usps" / "usps.h5"
    copy.parent.mkdir()
    shutil.copyfile(_real_h5(), copy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bunch = load_usps(subset="test", data_home=tmp_path)
    assert bunch.data.shape == (2007, 1, 16, 16)
    assert 0.0 <= bunch.data.min() and bunch.data.max() <= 1.0


def test_registered_h5_with_a_changed_value_is_refused(tmp_path):
    copy = tmp_path / "usps" / "usps.h5"
    copy.parent.mkdir()
    shutil.copyfile(_real_h5(), copy)
    with h5py.File(copy, "r+") as f:
        data = f["test"]["data"]
        data[0, 0] = 255.0  # another digest, and a value out of range
    with pytest.raises(ValueError, match=r"the test pixels must lie in \[0, 1\]"):
        load_usps(subset="test", data_home=tmp_path)
