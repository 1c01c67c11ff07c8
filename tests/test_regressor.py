"""TransferRegressor: fine-tuning a regression network from a source."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sktransfer import Source, TransferClassifier, TransferRegressor
from sktransfer.adaptation import (
    CDAN,
    MCC,
    SHOT,
    DeepCORAL,
    InformationMaximization,
    MeanTeacher,
)
from sktransfer.models import LeNet


def shifted_regression(n_source=800, n_target=300, n_features=20, seed=0):
    """A non-linear function of a shared projection; the target shifts and
    rescales the inputs and changes the output's scale a little."""
    rng = np.random.RandomState(seed)
    W = rng.normal(size=(n_features, 8)) / np.sqrt(n_features)
    v = rng.normal(size=8)

    def draw(n, scale, shift, gain):
        X = rng.normal(size=(n, n_features))
        y = gain * np.tanh(X @ W) @ v + 0.05 * rng.normal(size=n)
        return (X * scale + shift).astype(np.float32), y

    Xs, ys = draw(n_source, 1.0, 0.0, 1.0)
    Xt, yt = draw(n_target, rng.uniform(0.8, 1.2, n_features), 0.3, 1.2)
    return Xs, ys, Xt, yt


@pytest.fixture(scope="module")
def regression():
    return shifted_regression()


@pytest.fixture(scope="module")
def source_regressor(regression):
    Xs, ys, _, _ = regression
    return TransferRegressor(max_epochs=40, random_state=0).fit(Xs, ys)


def test_fine_tuning_beats_training_from_scratch(regression, source_regressor):
    _, _, Xt, yt = regression
    gains = []
    for seed in range(3):
        rng = np.random.RandomState(seed)
        few = rng.choice(len(yt), 30, replace=False)
        test = np.setdiff1d(np.arange(len(yt)), few)
        params = dict(max_epochs=40, random_state=seed)
        scratch = TransferRegressor(**params).fit(Xt[few], yt[few])
        tuned = TransferRegressor(source=source_regressor, **params)
        tuned.fit(Xt[few], yt[few])
        gain = tuned.score(Xt[test], yt[test]) - scratch.score(Xt[test], yt[test])
        gains.append(gain)
    assert np.mean(gains) > 0.2, gains


def test_grid_search_over_freeze_depth_with_r2(regression, source_regressor):
    _, _, Xt, yt = regression
    est = TransferRegressor(source=source_regressor, max_epochs=5, random_state=0)
    search = GridSearchCV(est, {"freeze_depth": [0, 1]}, scoring="r2", cv=3)
    search.fit(Xt[:90], yt[:90])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.source is source_regressor
    frozen = search.best_estimator_.set_params(freeze_depth=1).fit(Xt[:60], yt[:60])
    assert frozen.training_strategy_ == "frozen_prefix"
    assert frozen.cached_prefix_ == "layers.3"


def test_predict_shapes_dtypes_and_multi_output(regression):
    _, _, Xt, yt = regression
    reg = TransferRegressor(max_epochs=2, random_state=0).fit(Xt, yt)
    pred = reg.predict(Xt[:5])
    assert pred.shape == (5,) and pred.dtype == np.float64
    assert reg.n_outputs_ == 1
    Y = np.c_[yt, -2 * yt]
    multi = TransferRegressor(max_epochs=2, random_state=0).fit(Xt, Y)
    assert multi.predict(Xt[:5]).shape == (5, 2) and multi.n_outputs_ == 2
    column = TransferRegressor(max_epochs=2, random_state=0).fit(Xt, yt[:, None])
    assert column.predict(Xt[:5]).shape == (5, 1)
    assert isinstance(multi.score(Xt, Y), float)


def test_bad_inputs_give_clear_errors(regression):
    _, _, Xt, yt = regression
    y_nan = yt.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TransferRegressor(max_epochs=1).fit(Xt, y_nan)
    with pytest.raises(ValueError, match="infinity"):
        TransferRegressor(max_epochs=1).fit(Xt, np.where(yt > 0, np.inf, yt))
    reg = TransferRegressor(max_epochs=1).fit(Xt, yt)
    with pytest.raises(ValueError, match=r"y has shape \(300, 2\).*1 output"):
        reg.score(Xt, np.c_[yt, yt])
    with pytest.raises(ValueError, match="20 features"):
        reg.predict(Xt[:, :5])
    with pytest.raises(ValueError, match="lr must be a non-negative number"):
        TransferRegressor(lr=float("inf")).fit(Xt, yt)
    with pytest.raises(ValueError, match="Source.y has 2 outputs but y has 1"):
        TransferRegressor(source=Source(X=Xt, y=np.c_[yt, yt])).fit(Xt, yt)


def test_a_classifier_as_source_gets_a_new_head(regression):
    Xs, ys, Xt, yt = regression
    classifier = TransferClassifier(max_epochs=2, random_state=0)
    classifier.fit(Xs, (ys > 0).astype(int))
    reg = TransferRegressor(source=classifier, max_epochs=2, random_state=0)
    reg.fit(Xt, yt)
    report = reg.transfer_report_.set_index("parameter")["status"]
    assert report["layers.1.weight"] == "transferred"
    assert report["layers.3.weight"] == "fresh"  # 2 logits -> 1 output
    assert reg.module_.layers[3].out_features == 1


def test_training_across_domains_and_adaptation(regression):
    Xs, ys, Xt, yt = regression
    source = Source(X=Xs, y=ys)
    reg = TransferRegressor(
        source=source, adaptation=DeepCORAL(), max_epochs=2, random_state=0
    ).fit(Xt[:50], yt[:50])
    assert reg.training_strategy_ == "across_domains"
    assert {"source_loss", "target_loss", "adapt_loss"} <= set(reg.history_[-1])
    assert clone(reg).source is source
    # Negative targets are targets, not an "unlabelled" marker.
    y = np.full(50, -1.0)
    joint = TransferRegressor(source=source, max_epochs=1).fit(Xt[:50], y)
    assert joint.history_[-1, "target_loss"] > 0


def test_lenet_regressor_on_images_uses_the_frozen_prefix(digits):
    X, _ = digits
    y = X[:, 0, :14].mean(axis=(1, 2)) - X[:, 0, 14:].mean(axis=(1, 2))
    reg = TransferRegressor(
        LeNet, freeze_depth=2, max_epochs=2, random_state=0,
        module__channels=(4, 8), module__hidden_units=16,
    ).fit(X, y)  # fmt: skip
    assert reg.training_strategy_ == "frozen_prefix"
    assert reg.predict(X).shape == (len(X),)
    cv = KFold(3)
    search = GridSearchCV(reg, {"lr": [1e-3, 1e-2]}, scoring="r2", cv=cv).fit(X, y)
    assert np.isfinite(search.best_score_)


@pytest.mark.parametrize(
    "loss", [InformationMaximization(), MCC(), SHOT(), MeanTeacher(), CDAN()]
)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_losses_on_class_probabilities_are_refused(loss, n_outputs):
    # A softmax over regression outputs: with one output the loss was always
    # 0 (a fit that adapted nothing), with two it mixed unrelated targets.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    y = X[:, :n_outputs]
    clf = TransferRegressor(source=Source(X=X, y=y), adaptation=loss, max_epochs=1)
    with pytest.raises(ValueError, match="reads the network's outputs as class"):
        clf.fit(X + 1, y)
