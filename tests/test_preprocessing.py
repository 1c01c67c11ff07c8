"""Tests of sktransfer.preprocessing.ImageMapping."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks, get_tags

from sktransfer.preprocessing import ImageMapping

METHODS = ["resize", "pad", "resize_pad"]
CENTERS = ["box", "mass"]


@pytest.fixture
def digits16():
    """USPS-like batch: random blobs of ink in [0, 1] on 16x16 frames."""
    rng = np.random.default_rng(0)
    X = np.zeros((12, 1, 16, 16), dtype=np.float32)
    for img in X:
        top, left = rng.integers(0, 8, size=2)
        img[0, top : top + 8, left : left + 6] = rng.uniform(0.2, 1.0, (8, 6))
    return X


def _flatten(X):
    return X.reshape(len(X), -1)


# -- scikit-learn contract ------------------------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    ],
    ids=lambda check: check.__name__,
)
def test_sklearn_checks_that_need_no_tabular_data(check):
    # The default refuses the 2-D tables parametrize_with_checks feeds (they
    # are not images); tests/test_estimator_checks.py runs every check with
    # image_shape set. These exercise the default's parameter handling.
    check("ImageMapping", ImageMapping())


def test_clone_and_get_params_round_trip(digits16):
    est = ImageMapping(size=(32, 30), method="pad", box=18, center="mass")
    params = est.get_params()
    assert params == {
        "size": (32, 30),
        "method": "pad",
        "box": 18,
        "center": "mass",
        "batch_size": 1024,
        "image_shape": None,
    }
    fitted = clone(est).fit(digits16)
    copy = clone(fitted)
    assert copy.get_params() == params
    assert not hasattr(copy, "input_shape_")
    assert ImageMapping().set_params(**params).get_params() == params


def test_tags_declare_image_input():
    tags = get_tags(ImageMapping())
    assert tags.input_tags.three_d_array
    assert not tags.input_tags.two_d_array
    assert not tags.input_tags.allow_nan


def test_pickle_round_trip(digits16):
    est = ImageMapping(center="mass").fit(digits16)
    restored = pickle.loads(pickle.dumps(est))
    assert restored.input_shape_ == (1, 16, 16)
    np.testing.assert_array_equal(restored.transform(digits16), est.transform(digits16))


def test_fit_returns_self_and_fit_transform_matches(digits16):
    est = ImageMapping()
    assert est.fit(digits16) is est
    assert est.input_shape_ == (1, 16, 16)
    assert est.output_shape_ == (1, 28, 28)
    np.testing.assert_array_equal(
        ImageMapping().fit_transform(digits16), est.transform(digits16)
    )


def test_in_pipeline_before_a_classifier(digits16):
    y = np.arange(len(digits16)) % 2
    X = digits16 + y[:, None, None, None] * 0.5  # make the classes separable
    pipe = make_pipeline(
        ImageMapping(), FunctionTransformer(_flatten), LogisticRegression()
    )
    pipe.fit(X, y)
    assert pipe.score(X, y) == 1.0
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))


# -- behaviour ------------------------------------------------------------------


@pytest.mark.parametrize("center", CENTERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_input_is_not_modified(digits16, method, center, dtype):
    X = (digits16 * (255 if dtype == np.uint8 else 1)).astype(dtype)
    before = X.copy()
    est = ImageMapping(method=method, center=center).fit(X)
    Xt = est.transform(X)
    np.testing.assert_array_equal(X, before)
    assert not np.shares_memory(Xt, X)
    Xt[:] = -1  # writing to the output must not reach the input either
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("method", METHODS)
def test_output_shapes_and_dtype(method):
    X = np.zeros((5, 3, 16, 16))
    Xt = ImageMapping(method=method).fit_transform(X)
    assert Xt.shape == (5, 3, 28, 28)
    assert Xt.dtype == np.float32
    # (n, H, W) gains a channel axis.
    Xt = ImageMapping(size=(20, 24), method=method, box=18).fit_transform(X[:, 0])
    assert Xt.shape == (5, 1, 20, 24)
    # An int size means a square.
    assert ImageMapping(size=30, method=method).fit_transform(X).shape[2:] == (30, 30)


def test_accepts_torch_tensors(digits16):
    Xt = ImageMapping().fit_transform(torch.from_numpy(digits16))
    np.testing.assert_array_equal(Xt, ImageMapping().fit_transform(digits16))


def test_resize_pad_puts_ink_inside_central_box():
    X = np.ones((2, 1, 16, 16), dtype=np.float32)
    Xt = ImageMapping(size=(28, 28), method="resize_pad", box=20).fit_transform(X)
    inside = np.zeros((28, 28), dtype=bool)
    inside[4:24, 4:24] = True
    for img in Xt[:, 0]:
        np.testing.assert_allclose(img[inside], 1.0, rtol=1e-6)
        assert not img[~inside].any()


def test_resize_pad_keeps_aspect_ratio():
    X = np.ones((1, 1, 8, 16), dtype=np.float32)
    Xt = ImageMapping(size=(28, 28), box=20).fit_transform(X)[0, 0]
    rows, cols = np.nonzero(Xt)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (9, 18, 4, 23)


def test_pad_centres_exactly(digits16):
    Xt = ImageMapping(size=(28, 28), method="pad").fit_transform(digits16)
    np.testing.assert_array_equal(Xt[:, :, 6:22, 6:22], digits16)
    border = Xt.copy()
    border[:, :, 6:22, 6:22] = 0
    assert not border.any()


def test_resize_to_same_size_is_identity(digits16):
    Xt = ImageMapping(size=(16, 16), method="resize").fit_transform(digits16)
    np.testing.assert_allclose(Xt, digits16, atol=1e-6)


def test_center_mass_moves_centre_of_mass_to_mnist_centre():
    X = np.zeros((4, 1, 16, 16), dtype=np.float32)
    X[0, 0, 5, 3] = 1.0
    X[1, 0, 0, 0] = 1.0  # empty frame borders may leave the canvas
    X[2, 0, 0, :] = 1.0  # ink spans all rows, mass at the top: clipped
    X[2, 0, 15, :] = 0.01
    # X[3] is empty: centred like center="box"
    Xt = ImageMapping(method="pad", center="mass").fit_transform(X)[:, 0]
    assert np.argwhere(Xt[0]).tolist() == [[14, 14]]
    assert np.argwhere(Xt[1]).tolist() == [[14, 14]]
    rows, cols = np.nonzero(Xt[2])
    assert (rows.min(), rows.max()) == (12, 27)  # shifted by 12, not 14
    assert (cols.min(), cols.max()) == (7, 22)  # centre 7.5 -> 14.5
    assert not Xt[3].any()
    np.testing.assert_allclose(Xt.sum(axis=(1, 2)), X[:, 0].sum(axis=(1, 2)))


def test_center_mass_on_blobs(digits16):
    Xt = ImageMapping(method="resize_pad", center="mass").fit_transform(digits16)
    img = Xt[:, 0].astype(np.float64)
    total = img.sum(axis=(1, 2))
    cy = (img.sum(axis=2) * np.arange(28)).sum(axis=1) / total
    cx = (img.sum(axis=1) * np.arange(28)).sum(axis=1) / total
    assert np.all(np.abs(cy - 14) <= 0.5 + 1e-9)
    assert np.all(np.abs(cx - 14) <= 0.5 + 1e-9)
    # Same ink as center="box": only whole-pixel shifts.
    boxed = ImageMapping(method="resize_pad").fit_transform(digits16)
    np.testing.assert_allclose(total, boxed[:, 0].sum(axis=(1, 2)), rtol=1e-5)


@pytest.mark.parametrize("center", CENTERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("side", [9, 16, 40])
def test_values_stay_in_input_range(method, center, side):
    X = np.random.default_rng(1).uniform(0, 1, (4, 2, side, side))
    size = (side, side) if method == "pad" and side > 28 else (28, 28)
    Xt = ImageMapping(size=size, method=method, center=center, box=20).fit_transform(X)
    assert Xt.min() >= 0.0
    assert Xt.max() <= 1.0


def test_batch_size_does_not_change_the_result(digits16):
    small = ImageMapping(batch_size=5).fit_transform(digits16)
    np.testing.assert_array_equal(small, ImageMapping().fit_transform(digits16))


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(16, 16), (2, 256), (2, 1, 1, 16, 16)])
def test_wrong_ndim_raises(shape):
    with pytest.raises(ValueError, match="dimension"):
        ImageMapping().fit(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_raises(digits16, bad):
    X = digits16.copy()
    X[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        ImageMapping().fit(X)
    est = ImageMapping().fit(digits16)
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.transform(X)


def test_empty_and_non_numeric_raise():
    with pytest.raises(ValueError, match="empty"):
        ImageMapping().fit(np.zeros((0, 1, 16, 16)))
    with pytest.raises(ValueError, match="numeric"):
        ImageMapping().fit(np.full((1, 1, 2, 2), "a"))


def test_pad_to_smaller_size_raises():
    with pytest.raises(ValueError, match="cannot shrink"):
        ImageMapping(size=(28, 28), method="pad").fit(np.zeros((1, 1, 32, 20)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "crop"}, "method"),
        ({"center": "middle"}, "center"),
        ({"size": (28,)}, "size"),
        ({"size": (28, 0)}, "size"),
        ({"size": 28.5}, "size"),
        ({"box": 0}, "box"),
        ({"box": 30}, "does not fit"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_params_raise_in_fit(digits16, params, match):
    est = ImageMapping(**params)  # no validation in __init__
    with pytest.raises(ValueError, match=match):
        est.fit(digits16)


def test_transform_before_fit_raises(digits16):
    with pytest.raises(NotFittedError):
        ImageMapping().transform(digits16)


def test_transform_with_other_shape_raises(digits16):
    est = ImageMapping().fit(digits16)
    with pytest.raises(ValueError, match="fitted on images of shape"):
        est.transform(np.zeros((2, 1, 20, 20)))


# -- flat rows ------------------------------------------------------------------


def test_flat_rows_map_like_the_images_they_hold(digits16):
    import pandas as pd

    flat = digits16.reshape(len(digits16), -1)
    images = ImageMapping().fit_transform(digits16)
    rows = ImageMapping(image_shape=(16, 16)).fit_transform(flat)
    np.testing.assert_array_equal(rows, images.reshape(len(images), -1))
    columns = [f"px{i}" for i in range(flat.shape[1])]
    est = ImageMapping(image_shape=(1, 16, -1)).fit(pd.DataFrame(flat, columns=columns))
    assert est.n_features_in_ == 256 and est.input_shape_ == (1, 16, 16)
    assert list(est.feature_names_in_) == columns
    with pytest.raises(ValueError, match="missing"):
        est.transform(pd.DataFrame(flat[:, :100], columns=columns[:100]))
    with pytest.raises(ValueError, match="256 features"):
        ImageMapping(image_shape=(16, 16)).fit(flat).transform(flat[:, :100])


@pytest.mark.parametrize(
    "image_shape, match",
    [
        ((15, 15), "cannot read"),
        ((16, -1, -1), "at most one -1"),
        ("16x16", "image_shape"),
    ],
)
def test_bad_image_shape_raises(digits16, image_shape, match):
    flat = digits16.reshape(len(digits16), -1)
    with pytest.raises(ValueError, match=match):
        ImageMapping(image_shape=image_shape).fit(flat)
