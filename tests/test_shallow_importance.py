"""ImportanceWeightedClassifier / ImportanceWeightedRegressor: density-ratio
weights of the source rows (KMM, KLIEP, a domain classifier), then any model."""

import warnings

import numpy as np
import pytest
from scipy.stats import norm, spearmanr
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import ImportanceWeightedClassifier, ImportanceWeightedRegressor, Source
from sktransfer.shallow import _importance

WEIGHTINGS = ["kmm", "kliep", "discriminator"]


def _label(X):
    return (X[:, 1] > X[:, 0] ** 2 - 1).astype(int)


@pytest.fixture(scope="module")
def curved():
    """Covariate shift: a curved boundary, a wide source and a narrow target
    where a straight line fits the boundary only locally."""
    rng = np.random.RandomState(0)
    X_source = rng.normal(scale=1.5, size=(500, 2))
    X_target = rng.normal(loc=[1.5, 1.0], scale=0.4, size=(300, 2))
    return X_source, _label(X_source), X_target, _label(X_target)


@pytest.fixture(scope="module")
def shimodaira():
    """Shimodaira's regression example: y = -x + x^3, source N(0.5, 0.5^2),
    target N(0, 0.3^2), a straight line as model."""
    rng = np.random.RandomState(1)

    def f(x):
        return -x[:, 0] + x[:, 0] ** 3 + rng.normal(scale=0.3, size=len(x))

    X_source = rng.normal(0.5, 0.5, size=(300, 1))
    X_target = rng.normal(0.0, 0.3, size=(300, 1))
    return X_source, f(X_source), X_target, f(X_target)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_weighting_improves_target_accuracy_under_covariate_shift(curved, weighting):
    X_source, y_source, X_target, y_target = curved
    source = Source(X=X_source, y=y_source)
    unlabelled = np.full(len(X_target), -1)
    plain = ImportanceWeightedClassifier(source=source, weighting="uniform")
    plain.fit(X_target, unlabelled)
    weighted = ImportanceWeightedClassifier(
        source=source, weighting=weighting, random_state=0
    ).fit(X_target, unlabelled)
    before = plain.score(X_target, y_target)
    after = weighted.score(X_target, y_target)
    assert after > before + 0.15, (weighting, before, after)
    assert weighted.weights_.shape == (len(X_source),)
    assert (weighted.weights_ >= 0).all() and weighted.weights_.max() <= 100.0


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_regressor_weighting_improves_target_fit(shimodaira, weighting):
    X_source, y_source, X_target, y_target = shimodaira
    source = Source(X=X_source, y=y_source)
    plain = ImportanceWeightedRegressor(source=source, weighting="uniform")
    weighted = ImportanceWeightedRegressor(
        source=source, weighting=weighting, random_state=0
    )
    before = plain.fit(X_target).score(X_target, y_target)  # y=None: unlabelled
    after = weighted.fit(X_target).score(X_target, y_target)
    assert after > before + 0.5, (weighting, before, after)


@pytest.mark.parametrize(
    "weighting, domain_classifier",
    [
        ("kmm", None),
        ("kliep", None),
        # The log density ratio of two Gaussians is quadratic: a domain
        # classifier on quadratic features can represent it.
        ("discriminator", make_pipeline(PolynomialFeatures(2), LogisticRegression())),
    ],
)
def test_weights_follow_the_true_density_ratio(weighting, domain_classifier):
    rng = np.random.RandomState(0)
    X_source = rng.normal(size=(400, 1))
    X_target = rng.normal(0.5, 0.6, size=(300, 1))
    true_ratio = norm.pdf(X_source[:, 0], 0.5, 0.6) / norm.pdf(X_source[:, 0])
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=(X_source[:, 0] > 0).astype(int)),
        weighting=weighting,
        domain_classifier=domain_classifier,
        random_state=0,
    ).fit(X_target)
    assert spearmanr(model.weights_, true_ratio)[0] > 0.9
    assert model.weights_.mean() == pytest.approx(1.0)


def test_kmm_weights_reduce_the_mean_discrepancy(curved):
    X_source, _, X_target, _ = curved
    from sktransfer.shallow._kernels import median_bandwidth, rbf_kernel

    sigma = median_bandwidth(X_source, X_target, rng=np.random.RandomState(0))
    t = np.full(len(X_target), 1 / len(X_target))
    weights = _importance.kmm_weights(
        X_source, X_target, t, sigma, 100.0, None, 1000, 1e-6
    )

    def mmd2(w):
        w = w / w.sum()
        return (
            w @ rbf_kernel(X_source, X_source, sigma) @ w
            - 2 * w @ rbf_kernel(X_source, X_target, sigma) @ t
            + t @ rbf_kernel(X_target, X_target, sigma) @ t
        )

    assert mmd2(weights) < 0.05 * mmd2(np.ones(len(X_source)))
    n = len(X_source)
    eps = (np.sqrt(n) - 1) / np.sqrt(n)
    assert n * (1 - eps) - 1e-6 <= weights.sum() <= n * (1 + eps) + 1e-6
    assert weights.min() >= 0 and weights.max() <= 100.0


def test_projection_is_onto_the_box_and_the_sum_slab():
    rng = np.random.RandomState(0)
    v = rng.normal(size=50) * 5
    b = _importance._project_kmm(v, 2.0, 40.0, 45.0)
    assert b.min() >= 0 and b.max() <= 2.0 + 1e-12
    assert 40.0 - 1e-8 <= b.sum() <= 45.0 + 1e-8
    # Optimality of a Euclidean projection on a convex set: for any feasible
    # point c, (v - b) . (c - b) <= 0.
    for _ in range(20):
        c = _importance._project_kmm(rng.uniform(0, 2, size=50), 2.0, 40.0, 45.0)
        assert (v - b) @ (c - b) <= 1e-8


def test_labelled_target_rows_join_the_fit(curved):
    X_source, y_source, X_target, y_target = curved
    source = Source(X=X_source, y=y_source)
    y = np.full(len(X_target), -1)
    y[:60] = y_target[:60]
    only_source = ImportanceWeightedClassifier(source=source).fit(
        X_target, np.full(len(X_target), -1)
    )
    ignored = ImportanceWeightedClassifier(source=source, target_weight=0.0)
    ignored.fit(X_target, y)
    np.testing.assert_allclose(
        ignored.estimator_.coef_, only_source.estimator_.coef_, rtol=1e-4
    )
    heavy = ImportanceWeightedClassifier(source=source, target_weight=20.0)
    heavy.fit(X_target, y)
    assert heavy.score(X_target[60:], y_target[60:]) > only_source.score(
        X_target[60:], y_target[60:]
    )


@pytest.mark.parametrize("weighting", ["discriminator", "kmm"])
def test_sample_weight_is_like_repeating_target_rows(curved, weighting):
    X_source, y_source, X_target, y_target = curved
    X_target, y_target = X_target[:100], y_target[:100]
    y = np.where(np.arange(100) < 30, y_target, -1)
    weight = np.ones(100)
    weight[:10] = 2
    repeated = np.r_[np.arange(100), np.arange(10)]
    make = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=y_source), weighting=weighting, bandwidth=1.0
    )
    weighted = clone(make).fit(X_target, y, sample_weight=weight)
    duplicated = clone(make).fit(X_target[repeated], y[repeated])
    np.testing.assert_allclose(weighted.weights_, duplicated.weights_, rtol=1e-3)
    np.testing.assert_allclose(
        weighted.estimator_.coef_, duplicated.estimator_.coef_, rtol=1e-3
    )


def test_without_source_it_is_the_estimator_on_the_target_rows(curved):
    _, _, X_target, y_target = curved
    model = ImportanceWeightedClassifier().fit(X_target, y_target)
    plain = LogisticRegression().fit(X_target, y_target)
    np.testing.assert_allclose(
        model.predict_proba(X_target), plain.predict_proba(X_target)
    )
    assert model.weights_.shape == (0,)


def test_y_none_means_every_target_row_unlabelled(curved):
    X_source, y_source, X_target, _ = curved
    make = ImportanceWeightedClassifier(source=Source(X=X_source, y=y_source))
    a = clone(make).fit(X_target)
    b = clone(make).fit(X_target, np.full(len(X_target), -1))
    np.testing.assert_array_equal(a.weights_, b.weights_)
    np.testing.assert_array_equal(a.predict(X_target), b.predict(X_target))


def test_string_labels_and_another_marker(curved):
    X_source, y_source, X_target, y_target = curved
    names = np.array(["no", "yes"])
    y = names[y_target].astype(object)
    y[50:] = "?"
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=names[y_source]), unlabelled="?"
    ).fit(X_target, y)
    assert set(model.classes_) == {"no", "yes"}
    assert set(model.predict(X_target)) <= {"no", "yes"}


def test_regressor_nan_marks_unlabelled_target_rows(shimodaira):
    X_source, y_source, X_target, y_target = shimodaira
    source = Source(X=X_source, y=y_source)
    y = y_target.copy()
    y[30:] = np.nan
    model = ImportanceWeightedRegressor(source=source, target_weight=0.0)
    model.fit(X_target, y)
    none = ImportanceWeightedRegressor(source=source).fit(X_target)
    np.testing.assert_allclose(model.estimator_.coef_, none.estimator_.coef_)
    with pytest.raises(ValueError, match="infinity"):
        ImportanceWeightedRegressor(source=source).fit(
            X_target, np.r_[np.inf, y_target[1:]]
        )


def test_a_pipeline_estimator_gets_the_weights(curved):
    X_source, y_source, X_target, _ = curved
    model = ImportanceWeightedClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()),
        source=Source(X=X_source, y=y_source),
    ).fit(X_target)
    assert hasattr(model, "predict_proba")
    assert model.predict_proba(X_target).shape == (len(X_target), 2)


def test_predict_proba_follows_the_estimator(curved):
    X_source, y_source, X_target, _ = curved
    model = ImportanceWeightedClassifier(
        LinearSVC(), source=Source(X=X_source, y=y_source)
    ).fit(X_target)
    assert not hasattr(model, "predict_proba")
    assert model.decision_function(X_target).shape == (len(X_target),)


def test_clone_keeps_the_source_and_nothing_is_modified(curved):
    X_source, y_source, X_target, y_target = curved
    arrays = [a.copy() for a in (X_source, y_source, X_target, y_target)]
    y = np.where(np.arange(len(y_target)) < 20, y_target, -1)
    y_copy, weight = y.copy(), np.ones(len(y))
    source = Source(X=X_source, y=y_source)
    model = ImportanceWeightedClassifier(source=source, weighting="kmm")
    assert clone(model).source is source
    clone(model).fit(X_target, y, sample_weight=weight)
    for before, after in zip(
        arrays, (X_source, y_source, X_target, y_target), strict=True
    ):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(weight, 1.0)


def test_random_state_reproduces_kliep(curved):
    X_source, y_source, X_target, _ = curved
    make = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=y_source), weighting="kliep", n_centers=20
    )
    a = clone(make).set_params(random_state=0).fit(X_target).weights_
    b = clone(make).set_params(random_state=0).fit(X_target).weights_
    c = clone(make).set_params(random_state=1).fit(X_target).weights_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_kmm_warns_when_it_stops_before_converging(curved):
    X_source, y_source, X_target, _ = curved
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=y_source), weighting="kmm", max_steps=2
    )
    with pytest.warns(ConvergenceWarning, match="max_steps"):
        model.fit(X_target)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"weighting": "kernel"}, "weighting must be one of"),
        ({"max_weight": 0.5}, "max_weight must be None or at least 1"),
        ({"max_weight": "big"}, "max_weight must be a positive"),
        ({"eps": 1.0}, r"eps must be in \[0, 1\)"),
        ({"bandwidth": "scott"}, "bandwidth must be 'median'"),
        ({"bandwidth": -1.0}, "bandwidth must be a positive"),
        ({"n_centers": 0}, "n_centers must be a positive integer"),
        ({"target_weight": -1}, "target_weight must be a non-negative"),
        ({"max_steps": 1.5}, "max_steps must be a positive integer"),
        ({"tol": np.nan}, "tol must be a non-negative"),
        ({"estimator": KNeighborsClassifier()}, "does not take sample_weight"),
        (
            {"domain_classifier": LinearSVC(), "weighting": "discriminator"},
            "domain_classifier must have predict_proba",
        ),
    ],
)
def test_bad_parameters_are_refused_clearly(curved, params, match):
    X_source, y_source, X_target, _ = curved
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=y_source), **params
    )
    with pytest.raises(ValueError, match=match):
        model.fit(X_target)


def test_bad_sources_are_refused_clearly(curved):
    X_source, y_source, X_target, y_target = curved
    with pytest.raises(TypeError, match="source must be None or a sktransfer.Source"):
        ImportanceWeightedClassifier(source=(X_source, y_source)).fit(X_target)
    with pytest.raises(ValueError, match="learns from the source rows"):
        ImportanceWeightedClassifier(source=Source(weights={})).fit(X_target)
    with pytest.raises(ValueError, match="Source.y is None"):
        ImportanceWeightedClassifier(source=Source(X=X_source)).fit(X_target)
    with pytest.raises(ValueError, match="Source.X has 3 features but X"):
        ImportanceWeightedClassifier(
            source=Source(X=np.c_[X_source, X_source[:, 0]], y=y_source)
        ).fit(X_target)
    with pytest.raises(ValueError, match="Source.X has 500 rows but Source.y has 3"):
        ImportanceWeightedClassifier(source=Source(X=X_source, y=[0, 1, 0])).fit(
            X_target
        )
    with pytest.raises(ValueError, match="different types"):
        ImportanceWeightedClassifier(
            source=Source(X=X_source, y=np.array(["a", "b"])[y_source])
        ).fit(X_target, y_target)
    with pytest.raises(ValueError, match="unlabelled=None"):
        ImportanceWeightedClassifier(
            source=Source(X=X_source, y=y_source), unlabelled=None
        ).fit(X_target)


def test_kmm_refuses_too_many_source_rows(curved, monkeypatch):
    X_source, y_source, X_target, _ = curved
    monkeypatch.setattr(_importance, "KMM_MAX_SOURCE_ROWS", 100)
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=y_source), weighting="kmm"
    )
    with pytest.raises(ValueError, match="weighting='kliep' or 'discriminator'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_target)


def test_kliep_refuses_domains_that_do_not_overlap():
    rng = np.random.RandomState(0)
    X_source = rng.normal(size=(50, 2))
    model = ImportanceWeightedClassifier(
        source=Source(X=X_source, y=(X_source[:, 0] > 0).astype(int)),
        weighting="kliep",
        bandwidth=0.01,
    )
    with pytest.raises(ValueError, match="larger bandwidth"):
        model.fit(rng.normal(size=(30, 2)) + 100)


def test_score_leaves_out_unlabelled_rows_and_a_search_runs(curved):
    X_source, y_source, X_target, y_target = curved
    y = np.where(np.arange(len(y_target)) % 3 == 0, y_target, -1)
    source = Source(X=X_source, y=y_source)
    model = ImportanceWeightedClassifier(source=source).fit(X_target, y)
    labelled = y != -1
    assert model.score(X_target, y) == model.score(
        X_target[labelled], y_target[labelled]
    )
    with pytest.raises(ValueError, match="accuracy needs labels"):
        model.score(X_target, np.full(len(y), -1))
    search = GridSearchCV(
        ImportanceWeightedClassifier(source=source),
        {"weighting": ["uniform", "kmm", "discriminator"]},
        cv=3,
    ).fit(X_target, y)
    assert search.best_estimator_.source is source
    assert search.best_params_["weighting"] != "uniform"


def test_regressor_score_leaves_out_nan_rows(shimodaira):
    X_source, y_source, X_target, y_target = shimodaira
    model = ImportanceWeightedRegressor(source=Source(X=X_source, y=y_source))
    model.fit(X_target)
    y = y_target.copy()
    y[::2] = np.nan
    assert model.score(X_target, y) == model.score(X_target[1::2], y_target[1::2])
    with pytest.raises(ValueError, match="R² needs target values"):
        model.score(X_target, np.full(len(y), np.nan))


def test_bandwidth_is_the_median_heuristic_for_the_kernel_methods_only(curved):
    X_source, y_source, X_target, _ = curved
    source = Source(X=X_source, y=y_source)
    kmm = ImportanceWeightedClassifier(source=source, weighting="kmm").fit(X_target)
    distances = np.linalg.norm(X_source[:, None] - X_target[None], axis=2)
    assert 0.5 * np.median(distances) < kmm.bandwidth_ < 2 * np.median(distances)
    given = ImportanceWeightedClassifier(
        source=source, weighting="kliep", bandwidth=0.7
    )
    assert given.fit(X_target).bandwidth_ == 0.7
    odds = ImportanceWeightedClassifier(source=source, bandwidth=0.7).fit(X_target)
    assert odds.bandwidth_ is None
