"""Tests of sktransfer.shallow.CORAL (correlation alignment of tabular features)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import linalg
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks

from sktransfer import CORAL
from sktransfer.shallow import CORAL as CORAL_from_module

# The deprecated contract, CORAL(X_target).fit(X_source), kept for one release;
# tests/test_shallow_contract.py tests fit(X_target, y) with source=.
pytestmark = pytest.mark.filterwarnings(r"ignore:CORAL\(X_target\):FutureWarning")


def correlated(n, d, seed):
    """Rows with a non-trivial, full-rank covariance and a non-zero mean."""
    rng = np.random.RandomState(seed)
    mixing = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ mixing + rng.normal(size=d)


@pytest.fixture
def domains():
    return correlated(200, 4, seed=0), correlated(150, 4, seed=1)


def direct_map(Xs, Xt, reg):
    """The paper's formula with scipy's general matrix functions."""
    Cs = np.cov(Xs, rowvar=False) + reg * np.eye(Xs.shape[1])
    Ct = np.cov(Xt, rowvar=False) + reg * np.eye(Xs.shape[1])
    return np.real(linalg.inv(linalg.sqrtm(Cs)) @ linalg.sqrtm(Ct))


def distorted_task(seed=0, n=600, d=5):
    """An isotropic source; the target is the same task under a linear
    distortion (rotation + anisotropic scaling, an SPD matrix)."""
    rng = np.random.RandomState(seed)
    rotation = ortho_group.rvs(d, random_state=seed)
    distortion = (rotation * np.array([4.0, 2.0, 1.0, 0.5, 0.25])) @ rotation.T
    w = rng.normal(size=d)

    def draw():
        X = rng.normal(size=(n, d))
        return X, (X @ w > 0).astype(int)

    Xs, ys = draw()
    Xt, yt = draw()
    return Xs, ys, Xt @ distortion, yt


# -- the map ----------------------------------------------------------------------


def test_public_name_is_the_module_class():
    assert CORAL is CORAL_from_module


@pytest.mark.parametrize("reg", [1.0, 0.1, 1e-3])
def test_map_matches_a_direct_computation(domains, reg):
    Xs, Xt = domains
    coral = CORAL(Xt, regularization=reg).fit(Xs)
    np.testing.assert_allclose(coral.A_, direct_map(Xs, Xt, reg), rtol=1e-8, atol=1e-8)
    assert coral.A_.shape == (4, 4)
    assert coral.n_features_in_ == 4
    np.testing.assert_array_equal(coral.offset_, np.zeros(4))
    np.testing.assert_allclose(coral.fit_transform(Xs), Xs @ coral.A_, atol=1e-12)


def test_recoloured_source_covariance_is_the_target_covariance(domains):
    Xs, Xt = domains
    # Exact identity for any regularisation: A^T (C_s + rI) A = C_t + rI.
    coral = CORAL(Xt, regularization=0.5)
    cov = np.cov(coral.fit_transform(Xs), rowvar=False)
    A = coral.A_
    expected = np.cov(Xt, rowvar=False) + 0.5 * (np.eye(4) - A.T @ A)
    np.testing.assert_allclose(cov, expected, atol=1e-9)
    # With a tiny regularisation the covariances match.
    cov = np.cov(CORAL(Xt, regularization=1e-9).fit_transform(Xs), rowvar=False)
    np.testing.assert_allclose(cov, np.cov(Xt, rowvar=False), rtol=1e-6, atol=1e-6)
    # The default (the paper's 1.0) shrinks towards it but does not reach it.
    cov = np.cov(CORAL(Xt).fit_transform(Xs), rowvar=False)
    gap = np.linalg.norm(cov - np.cov(Xt, rowvar=False))
    assert gap < np.linalg.norm(np.cov(Xs, rowvar=False) - np.cov(Xt, rowvar=False))


def test_center_moves_the_source_mean_to_the_target_mean(domains):
    Xs, Xt = domains
    coral = CORAL(Xt, regularization=1e-9, center=True)
    out = coral.fit_transform(Xs)
    np.testing.assert_allclose(out.mean(axis=0), Xt.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(
        np.cov(out, rowvar=False), np.cov(Xt, rowvar=False), rtol=1e-6, atol=1e-6
    )
    expected = (Xs - Xs.mean(axis=0)) @ coral.A_ + Xt.mean(axis=0)
    np.testing.assert_allclose(out, expected, atol=1e-9)
    # Without centring the mean goes through the map only (the paper).
    out = CORAL(Xt, regularization=1e-9).fit_transform(Xs)
    np.testing.assert_allclose(out.mean(axis=0), Xs.mean(axis=0) @ coral.A_)


def test_singular_covariances_give_a_real_finite_map():
    rng = np.random.RandomState(0)
    Xs = np.c_[rng.normal(size=(30, 2)), np.zeros(30), np.ones(30)]  # rank 2
    Xs = np.c_[Xs, Xs[:, 0] + Xs[:, 1]]
    Xt = rng.normal(size=(3, 5))  # fewer rows than features
    for reg in (1.0, 1e-12):
        coral = CORAL(Xt, regularization=reg).fit(Xs)
        assert np.isrealobj(coral.A_)
        assert np.isfinite(coral.A_).all()


def test_same_domain_with_tiny_regularisation_is_the_identity(domains):
    Xs, _ = domains
    coral = CORAL(Xs.copy(), regularization=1e-12).fit(Xs)
    np.testing.assert_allclose(coral.A_, np.eye(4), atol=1e-6)


# -- fit_transform re-colours, transform passes rows through ---------------------


def test_transform_leaves_rows_unchanged(domains):
    Xs, Xt = domains
    coral = CORAL(Xt).fit(Xs)
    for X in (Xt, Xs, Xt[:3]):
        np.testing.assert_array_equal(coral.transform(X), X)
    assert coral.transform(Xt) is Xt  # float64 arrays are not even copied
    ints = np.arange(12).reshape(3, 4)
    out = coral.transform(ints)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ints)
    # fit(X).transform(X) is not fit_transform(X): only the latter re-colours.
    assert not np.allclose(coral.transform(Xs), coral.fit_transform(Xs))


def test_transform_validates_its_rows(domains):
    Xs, Xt = domains
    with pytest.raises(NotFittedError):
        CORAL(Xt).transform(Xt)
    coral = CORAL(Xt).fit(Xs)
    with pytest.raises(ValueError, match="4 features"):
        coral.transform(Xt[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        coral.transform(np.full((2, 4), np.nan))


def test_float32_is_preserved(domains):
    Xs, Xt = domains
    Xs32 = Xs.astype(np.float32)
    coral = CORAL(Xt)
    out = coral.fit_transform(Xs32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, Xs @ direct_map(Xs, Xt, 1.0), rtol=1e-4, atol=1e-4)
    assert coral.transform(Xt.astype(np.float32)).dtype == np.float32


def test_pipeline_trains_on_recoloured_source_and_predicts_raw_target():
    Xs, ys, Xt, yt = distorted_task()
    pipe = make_pipeline(CORAL(Xt), LogisticRegression()).fit(Xs, ys)
    coral = pipe[0]
    by_hand = LogisticRegression().fit(Xs @ coral.A_, ys)
    np.testing.assert_array_equal(pipe.predict(Xt), by_hand.predict(Xt))
    np.testing.assert_allclose(pipe.predict_proba(Xt), by_hand.predict_proba(Xt))
    assert pipe.score(Xt, yt) == by_hand.score(Xt, yt)
    np.testing.assert_allclose(pipe[-1].coef_, by_hand.coef_)
    # And it is not the pipeline that re-colours the target rows at predict.
    recoloured = by_hand.predict(Xt @ coral.A_)
    assert not np.array_equal(pipe.predict(Xt), recoloured)


@pytest.mark.parametrize("reg", [1e-3, 1.0])
def test_coral_beats_source_only_on_a_distorted_target(reg):
    Xs, ys, Xt, yt = distorted_task()
    raw = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    pipe = make_pipeline(CORAL(Xt, regularization=reg), LogisticRegression())
    adapted = pipe.fit(Xs, ys).score(Xt, yt)
    assert adapted > raw + 0.02, (raw, adapted)
    if reg == 1e-3:  # an isotropic source: CORAL recovers the distortion
        assert adapted > 0.95 > raw + 0.05


# -- pandas output, parameters, cloning -------------------------------------------


def test_pandas_output_keeps_feature_names(domains):
    pd = pytest.importorskip("pandas")
    Xs, Xt = domains
    columns = ["a", "b", "c", "d"]
    frame_s = pd.DataFrame(Xs, columns=columns, index=np.arange(200) + 1000)
    frame_t = pd.DataFrame(Xt, columns=columns)
    coral = CORAL(frame_t).set_output(transform="pandas")
    out = coral.fit_transform(frame_s)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == columns
    assert list(out.index) == list(frame_s.index)
    np.testing.assert_allclose(out.to_numpy(), Xs @ direct_map(Xs, Xt, 1.0))
    np.testing.assert_array_equal(coral.feature_names_in_, columns)
    np.testing.assert_array_equal(coral.get_feature_names_out(), columns)
    same = coral.transform(frame_t)
    assert isinstance(same, pd.DataFrame)
    pd.testing.assert_frame_equal(same, frame_t)
    # Without names, the names are x0..x3.
    names = CORAL(Xt).fit(Xs).get_feature_names_out()
    np.testing.assert_array_equal(names, ["x0", "x1", "x2", "x3"])


def test_pandas_output_in_a_pipeline(domains):
    pd = pytest.importorskip("pandas")
    Xs, Xt = domains
    columns = ["a", "b", "c", "d"]
    pipe = make_pipeline(CORAL(pd.DataFrame(Xt, columns=columns)), StandardScaler())
    pipe.set_output(transform="pandas")
    out = pipe.fit_transform(pd.DataFrame(Xs, columns=columns))
    assert list(out.columns) == columns
    np.testing.assert_array_equal(pipe.get_feature_names_out(), columns)


def test_get_params_and_clone_round_trip(domains):
    Xs, Xt = domains
    coral = CORAL(Xt, regularization=0.3, center=True)
    params = coral.get_params()
    assert sorted(params) == [
        "X_target",
        "center",
        "estimator",
        "regularization",
        "source",
        "unlabelled",
    ]
    assert params["X_target"] is Xt  # stored as given, not converted or copied
    assert params["regularization"] == 0.3 and params["center"] is True
    assert not any(name.endswith("_") for name in params)
    twin = clone(coral)
    assert twin is not coral and not hasattr(twin, "A_")
    np.testing.assert_array_equal(twin.get_params()["X_target"], Xt)
    assert twin.get_params()["regularization"] == 0.3
    assert twin.get_params()["center"] is True
    np.testing.assert_allclose(twin.fit(Xs).A_, clone(coral).fit(Xs).A_)
    # A list stays a list through __init__ and get_params.
    as_list = Xt.tolist()
    assert CORAL(as_list).get_params()["X_target"] is as_list
    # set_params changes the map.
    coral.fit(Xs)
    before = coral.A_.copy()
    coral.set_params(regularization=1e-3).fit(Xs)
    assert not np.allclose(before, coral.A_)


def test_grid_search_over_the_regularisation_and_pickle(domains):
    Xs, Xt = domains
    ys = (Xs[:, 0] > np.median(Xs[:, 0])).astype(int)
    search = GridSearchCV(
        make_pipeline(CORAL(Xt), LogisticRegression()),
        {"coral__regularization": [0.1, 1.0]},
        cv=2,
    ).fit(Xs, ys)
    assert search.best_params_["coral__regularization"] in (0.1, 1.0)
    fitted = CORAL(Xt).fit(Xs)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.A_, fitted.A_)


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
    # The data-dependent checks cannot run on CORAL: they fit on arrays of
    # 1 to 10 features, which a fixed X_target cannot match, and one of them
    # requires fit_transform(X) == fit(X).transform(X), which CORAL breaks by
    # design (see its Notes). These check the parameter contract.
    check("CORAL", CORAL(X_target=np.random.RandomState(0).normal(size=(10, 3))))


# -- bad inputs -------------------------------------------------------------------


@pytest.mark.parametrize("reg", [0, -1.0, np.inf, np.nan, "1", None, True, [1.0]])
def test_bad_regularization_is_refused(domains, reg):
    Xs, Xt = domains
    with pytest.raises(ValueError, match="regularization must be a positive"):
        CORAL(Xt, regularization=reg).fit(Xs)


def test_covariances_that_overflow_are_refused(domains):
    # Finite values whose squares overflow float64: eigh met inf before.
    Xs, Xt = domains
    huge = np.asarray(Xt, dtype=np.float64) * 1e200
    with pytest.raises(ValueError, match="covariance of X_target overflows"):
        CORAL(huge).fit(Xs)
    with pytest.raises(ValueError, match=r"covariance of X \(the source rows\)"):
        CORAL(Xt).fit(np.asarray(Xs, dtype=np.float64) * 1e200)


def test_bad_center_is_refused(domains):
    Xs, Xt = domains
    with pytest.raises(ValueError, match="center must be True or False"):
        CORAL(Xt, center="yes").fit(Xs)


def test_bad_target_rows_are_refused(domains):
    Xs, Xt = domains
    # X_target=None is the new contract: fit's rows are the target's.
    with pytest.raises(
        ValueError, match="y is None and there is no source: give source="
    ):
        CORAL(None).fit(Xs)
    with pytest.raises(ValueError, match="X_target has 3 features but X .* has 4"):
        CORAL(Xt[:, :3]).fit(Xs)
    with pytest.raises(ValueError, match="Found array with 1 sample"):
        CORAL(Xt[:1]).fit(Xs)
    with pytest.raises(ValueError, match="Expected 2D array"):
        CORAL(Xt[:, 0]).fit(Xs)
    bad = Xt.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_target contains NaN"):
        CORAL(bad).fit(Xs)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="X_target contains infinity"):
        CORAL(bad).fit(Xs)
    with pytest.raises(ValueError, match="could not convert"):
        CORAL(np.array([["a", "b"], ["c", "d"]])).fit(Xs[:, :2])


def test_bad_source_rows_are_refused(domains):
    Xs, Xt = domains
    with pytest.raises(ValueError, match="Found array with 1 sample"):
        CORAL(Xt).fit(Xs[:1])
    with pytest.raises(ValueError, match="Expected 2D array"):
        CORAL(Xt).fit(Xs[:, 0])
    bad = Xs.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        CORAL(Xt).fit(bad)
    with pytest.raises(ValueError, match="Complex data not supported"):
        CORAL(Xt).fit(Xs[:5] + 1j)


def test_mismatched_column_names_are_refused(domains):
    pd = pytest.importorskip("pandas")
    Xs, Xt = domains
    frame_s = pd.DataFrame(Xs, columns=list("abcd"))
    frame_t = pd.DataFrame(Xt, columns=list("abdc"))
    with pytest.raises(ValueError, match="different column names"):
        CORAL(frame_t).fit(frame_s)


# -- nothing of the caller's is changed -------------------------------------------


def test_inputs_are_not_modified(domains):
    Xs, Xt = domains
    Xs_before, Xt_before = Xs.copy(), Xt.copy()
    for center in (False, True):
        coral = CORAL(Xt, center=center)
        coral.fit_transform(Xs)
        coral.fit(Xs).transform(Xs)
        make_pipeline(CORAL(Xt, center=center), LogisticRegression()).fit(
            Xs, Xs[:, 0] > 0
        ).predict(Xt)
        np.testing.assert_array_equal(Xs, Xs_before)
        np.testing.assert_array_equal(Xt, Xt_before)
        assert coral.X_target is Xt
    # Read-only inputs work too (nothing is written in place).
    Xs.setflags(write=False)
    Xt.setflags(write=False)
    CORAL(Xt, center=True).fit_transform(Xs)
