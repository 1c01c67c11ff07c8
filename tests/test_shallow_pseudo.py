"""Tests of sktransfer.shallow.SelectivePseudoLabeling (SPL)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler, normalize
from sklearn.utils import estimator_checks

from sktransfer import SelectivePseudoLabeling, load_office_caltech10
from sktransfer.shallow import SelectivePseudoLabeling as SPL_from_module
from sktransfer.shallow._pseudo_labeling import _lpp

# The deprecated contract, SelectivePseudoLabeling(X_target).fit(X_source, y),
# kept for one release; tests/test_shallow_contract.py tests the new one.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:SelectivePseudoLabeling\(X_target\):FutureWarning"
)

CENTERS = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0]])


def rotated_task(seed=0, angle=0.8, n=300):
    """Three Gaussian blobs; the target is the same task rotated by ``angle``
    radians, which a model trained on the source misclassifies often."""
    rng = np.random.RandomState(seed)
    rotation = np.array(
        [[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]]
    )
    ys = rng.randint(3, size=n)
    Xs = CENTERS[ys] + rng.normal(size=(n, 2))
    yt = rng.randint(3, size=n)
    Xt = (CENTERS[yt] + rng.normal(size=(n, 2))) @ rotation
    return Xs, ys, Xt, yt


@pytest.fixture
def task():
    return rotated_task()


def test_public_name_is_the_module_class():
    assert SelectivePseudoLabeling is SPL_from_module


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_a_rotated_target_where_source_only_fails(seed):
    Xs, ys, Xt, yt = rotated_task(seed)
    raw = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    spl = SelectivePseudoLabeling(Xt).fit(Xs, ys)
    adapted = spl.score(Xt, yt)
    assert raw < 0.7
    assert adapted > 0.8
    assert adapted > raw + 0.15, (raw, adapted)


def test_one_iteration_projects_with_the_source_labels_only(task):
    Xs, ys, Xt, _ = task
    spl = SelectivePseudoLabeling(Xt, n_iter=1).fit(Xs, ys)
    Z = normalize(spl.pca_.transform(normalize(np.vstack([Xs, Xt]))))
    codes = np.r_[ys, np.full(len(Xt), -1)]  # no target row labelled yet
    np.testing.assert_allclose(spl.projection_, _lpp(Z, codes, 3, 2, 1.0))
    # The reference code's last selection: all but the least confident row of
    # each predicted class.
    n_predicted = len(np.unique(spl.pseudo_labels_))
    assert spl.selected_.sum() == len(Xt) - n_predicted


def test_the_selected_fraction_grows_each_iteration(task):
    Xs, ys, Xt, _ = task
    spl = SelectivePseudoLabeling(Xt).fit(Xs, ys)
    counts = spl.n_selected_
    assert counts.shape == (11,)
    assert (np.diff(counts[:10]) > 0).all()  # about 10 %, 20 %, ... of the rows
    assert 0.05 * len(Xt) < counts[0] < 0.15 * len(Xt)
    # From the 10th iteration on, all but one row per predicted class.
    assert counts[-1] == counts[-2] == spl.selected_.sum() == len(Xt) - 3


def test_fitted_attributes_and_transductive_labels(task):
    Xs, ys, Xt, _ = task
    labels = np.array(["a", "b", "c"])[ys]  # any label type
    spl = SelectivePseudoLabeling(Xt).fit(Xs, labels)
    np.testing.assert_array_equal(spl.classes_, ["a", "b", "c"])
    assert spl.n_features_in_ == 2
    assert spl.pca_.n_components_ == 2  # capped at the number of features
    assert spl.projection_.shape == (2, 2)
    assert spl.class_means_.shape == spl.cluster_centers_.shape == (3, 2)
    np.testing.assert_allclose(np.linalg.norm(spl.class_means_, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(spl.cluster_centers_, axis=1), 1.0)
    assert spl.pseudo_labels_.shape == (len(Xt),)
    assert spl.selected_.dtype == bool and 0 < spl.selected_.sum() < len(Xt)
    np.testing.assert_array_equal(spl.predict(Xt), spl.pseudo_labels_)
    proba = spl.predict_proba(Xt)
    assert proba.shape == (len(Xt), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba > 0).all()
    np.testing.assert_array_equal(spl.classes_[proba.argmax(axis=1)], spl.predict(Xt))
    # New rows (here the source rows) are predicted with the same map.
    assert spl.score(Xs, labels) > 0.8


def test_lpp_dimension_is_capped_and_can_be_reduced():
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(60, 6)) + np.repeat(np.eye(6)[:3] * 4, 20, axis=0)
    ys = np.repeat([0, 1, 2], 20)
    Xt = rng.normal(size=(45, 6)) + np.repeat(np.eye(6)[:3] * 4, 15, axis=0)
    spl = SelectivePseudoLabeling(Xt, pca_components=5, n_components=3).fit(Xs, ys)
    assert spl.projection_.shape == (5, 3)
    assert spl.score(Xt, np.repeat([0, 1, 2], 15)) > 0.9
    spl = SelectivePseudoLabeling(Xt, pca_components=4, n_components=50).fit(Xs, ys)
    assert spl.projection_.shape == (4, 4)


def test_deterministic_and_clone_refits_the_same(task):
    Xs, ys, Xt, _ = task
    a = SelectivePseudoLabeling(Xt).fit(Xs, ys)
    b = clone(a).fit(Xs, ys)
    np.testing.assert_array_equal(a.pseudo_labels_, b.pseudo_labels_)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(Xt), a.predict(Xt))


def test_get_params_and_set_params(task):
    _, _, Xt, _ = task
    spl = SelectivePseudoLabeling(Xt, n_iter=3)
    params = spl.get_params()
    assert sorted(params) == [
        "X_target",
        "n_components",
        "n_iter",
        "pca_components",
        "regularization",
        "source",
        "unlabelled",
    ]
    assert params["X_target"] is Xt
    assert params["n_iter"] == 3
    assert spl.set_params(regularization=0.5).regularization == 0.5


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
def test_sklearn_parameter_checks(check):
    # As for CORAL: the data-dependent checks fit on arrays of varying width,
    # which a fixed X_target cannot match.
    X_target = np.random.RandomState(0).normal(size=(10, 3))
    check("SelectivePseudoLabeling", SelectivePseudoLabeling(X_target=X_target))


# -- bad inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_iter": 0}, "n_iter must be a positive integer"),
        ({"n_iter": 2.5}, "n_iter must be a positive integer"),
        ({"n_iter": True}, "n_iter must be a positive integer"),
        ({"pca_components": -1}, "pca_components must be a positive integer"),
        ({"n_components": "8"}, "n_components must be a positive integer"),
        ({"regularization": 0}, "regularization must be a positive finite"),
        ({"regularization": np.nan}, "regularization must be a positive finite"),
        ({"regularization": None}, "regularization must be a positive finite"),
    ],
)
def test_bad_parameters_are_refused(task, params, match):
    Xs, ys, Xt, _ = task
    with pytest.raises(ValueError, match=match):
        SelectivePseudoLabeling(Xt, **params).fit(Xs, ys)


def test_bad_target_rows_are_refused(task):
    Xs, ys, Xt, _ = task
    # X_target=None is the new contract: without a source, every row of
    # fit's X is a labelled row.
    assert SelectivePseudoLabeling(None, n_iter=2).fit(Xs, ys).classes_.size == 3
    wide = np.c_[Xt, Xt[:, :1]]
    with pytest.raises(ValueError, match="X_target has 3 features but X .* has 2"):
        SelectivePseudoLabeling(wide).fit(Xs, ys)
    bad = Xt.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_target contains NaN"):
        SelectivePseudoLabeling(bad).fit(Xs, ys)
    with pytest.raises(ValueError, match="X_target has 2 rows but there are 3"):
        SelectivePseudoLabeling(Xt[:2]).fit(Xs, ys)
    with pytest.raises(ValueError, match="Expected 2D array"):
        SelectivePseudoLabeling(Xt[:, 0]).fit(Xs, ys)


def test_bad_source_rows_and_labels_are_refused(task):
    Xs, ys, Xt, _ = task
    bad = Xs.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SelectivePseudoLabeling(Xt).fit(bad, ys)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SelectivePseudoLabeling(Xt).fit(Xs, ys[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        SelectivePseudoLabeling(Xt).fit(Xs, np.zeros(len(Xs)))
    with pytest.raises(ValueError, match="Unknown label type"):
        SelectivePseudoLabeling(Xt).fit(Xs, Xs[:, 0])


def test_predict_validates_its_rows(task):
    Xs, ys, Xt, _ = task
    with pytest.raises(NotFittedError):
        SelectivePseudoLabeling(Xt).predict(Xt)
    spl = SelectivePseudoLabeling(Xt).fit(Xs, ys)
    with pytest.raises(ValueError, match="2 features"):
        spl.predict(np.c_[Xt, Xt])
    with pytest.raises(ValueError, match="NaN"):
        spl.predict(np.full((2, 2), np.nan))


def test_inputs_are_not_modified(task):
    Xs, ys, Xt, _ = task
    before = Xs.copy(), ys.copy(), Xt.copy()
    spl = SelectivePseudoLabeling(Xt).fit(Xs, ys)
    spl.predict_proba(Xt)
    for array, copy in zip((Xs, ys, Xt), before, strict=True):
        np.testing.assert_array_equal(array, copy)
    assert spl.X_target is Xt
    for array in (Xs, ys, Xt):  # read-only inputs work too
        array.setflags(write=False)
    SelectivePseudoLabeling(Xt).fit(Xs, ys).predict(Xt)


# -- real data --------------------------------------------------------------------


def test_real_surf_task_beats_source_only():
    try:
        Xs, ys = load_office_caltech10(
            "webcam", download_if_missing=False, return_X_y=True
        )
        Xt, yt = load_office_caltech10(
            "dslr", download_if_missing=False, return_X_y=True
        )
    except (FileNotFoundError, OSError) as error:
        pytest.skip(f"Office-Caltech10 SURF data not available: {error}")
    Xs, Xt = StandardScaler().fit_transform(Xs), StandardScaler().fit_transform(Xt)
    raw = LogisticRegression(max_iter=2000).fit(Xs, ys).score(Xt, yt)
    adapted = SelectivePseudoLabeling(Xt).fit(Xs, ys).score(Xt, yt)
    assert adapted > raw  # 0.879 vs 0.815 (benchmarks/results/shallow.md)
