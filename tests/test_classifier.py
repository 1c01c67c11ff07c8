"""TransferClassifier: the sklearn contract, labels, reproducibility, errors."""

import pickle
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sktransfer import TransferClassifier


def small_problem(n=200, n_features=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def test_default_module_fits_any_numeric_table():
    X, y = small_problem()
    clf = TransferClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.n_features_in_ == 6
    assert clf.input_shape_ == (6,)
    assert len(clf.history_) == clf.max_epochs
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize(
    "labels", [["cat", "dog"], [3, 100], [-1, 1], [0.0, 2.0]], ids=str
)
def test_labels_of_any_type(labels):
    X, y01 = small_problem()
    y = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[y01]
    clf = TransferClassifier(random_state=0).fit(X, y)
    assert list(clf.classes_) == sorted(labels)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y) > 0.8


def test_three_classes_with_gaps():
    X, y01 = small_problem(n=300)
    y = np.where(X[:, 2] > 1, 7, np.where(y01 == 1, 2, 40))
    clf = TransferClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [2, 7, 40])
    assert clf.predict_proba(X).shape == (300, 3)


def test_dataframe_input_sets_feature_names():
    X, y = small_problem()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    clf = TransferClassifier(max_epochs=2, random_state=0).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    assert clf.predict(df).shape == (200,)


def test_callers_arrays_are_not_modified(tabular_source, domains):
    _, _, Xt, yt = domains
    X, y = Xt[:40].copy(), yt[:40].copy()
    X_before, y_before = X.copy(), y.copy()
    assert X.dtype == np.float64
    clf = TransferClassifier(source=tabular_source, max_epochs=2).fit(X, y)
    clf.predict_proba(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_random_state_is_bit_for_bit_reproducible_and_leaves_global_rng():
    X, y = small_problem()
    state = torch.get_rng_state()
    a = TransferClassifier(random_state=3, module__dropout=0.2).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    b = TransferClassifier(random_state=3, module__dropout=0.2).fit(X, y)
    c = TransferClassifier(random_state=4, module__dropout=0.2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_pipeline_cross_val_score_and_clone(tabular_source, domains):
    _, _, Xt, yt = domains
    pipe = make_pipeline(
        StandardScaler(), TransferClassifier(source=tabular_source, max_epochs=5)
    )
    scores = cross_val_score(pipe, Xt[:90], yt[:90], cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.4)

    fitted = TransferClassifier(source=tabular_source, max_epochs=2).fit(Xt, yt)
    cloned = clone(fitted)
    assert cloned.source is tabular_source
    assert not hasattr(cloned, "net_")
    assert cloned.get_params()["max_epochs"] == 2


def test_source_is_shared_not_copied_across_folds(tabular_source, domains):
    _, _, Xt, yt = domains
    before = {k: v.clone() for k, v in tabular_source.module_.state_dict().items()}
    est = TransferClassifier(source=tabular_source, max_epochs=3)
    res = cross_validate(est, Xt[:90], yt[:90], cv=3, return_estimator=True)
    assert all(e.source is tabular_source for e in res["estimator"])
    # Training the folds did not touch the source's weights.
    after = tabular_source.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_pickle_and_joblib_round_trip_in_a_fresh_process(tmp_path, domains):
    Xs, ys, Xt, yt = domains
    clf = TransferClassifier(source=TransferClassifier(max_epochs=2).fit(Xs, ys))
    clf.set_params(max_epochs=3, random_state=0).fit(Xt[:50], yt[:50])
    expected = clf.predict_proba(Xt)
    np.save(tmp_path / "X.npy", Xt)
    joblib.dump(clf, tmp_path / "clf.joblib")
    with open(tmp_path / "clf.pkl", "wb") as f:
        pickle.dump(clf, f)
    script = (
        "import sys, pickle, joblib, numpy as np\n"
        "d = sys.argv[1]\n"
        "X = np.load(d + '/X.npy')\n"
        "a = joblib.load(d + '/clf.joblib').predict_proba(X)\n"
        "b = pickle.load(open(d + '/clf.pkl', 'rb')).predict_proba(X)\n"
        "np.save(d + '/a.npy', a); np.save(d + '/b.npy', b)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), expected)


def test_skorch_dunder_params_and_callbacks_reach_the_net():
    class CountEpochs(Callback):
        def initialize(self):
            self.count = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.count += 1

    X, y = small_problem()
    clf = TransferClassifier(
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.9,
        optimizer__weight_decay=1e-4,
        module__hidden_units=(7, 5),
        callbacks=[("count", CountEpochs())],
        max_epochs=4,
        random_state=0,
    )
    assert clf.get_params()["optimizer__momentum"] == 0.9
    clf.set_params(optimizer__momentum=0.5)
    assert clone(clf).get_params()["optimizer__momentum"] == 0.5
    clf.fit(X, y)
    assert clf.net_.optimizer_.defaults["momentum"] == 0.5
    assert clf.net_.optimizer_.defaults["weight_decay"] == 1e-4
    assert clf.module_.layers[1].out_features == 7
    assert dict(clf.net_.callbacks_)["count"].count == 4
    assert clf.net_.history[-1, "epoch"] == 4


def test_unknown_parameter_is_refused_in_fit():
    X, y = small_problem()
    clf = TransferClassifier(hidden=5)
    with pytest.raises(ValueError, match="Unknown parameter 'hidden'"):
        clf.fit(X, y)


def test_verbose_prints_transfer_summary_and_epochs(capsys, tabular_source, domains):
    _, _, Xt, yt = domains
    TransferClassifier(source=tabular_source, max_epochs=2, verbose=1).fit(Xt, yt)
    out = capsys.readouterr().out
    assert "transferred 4/4 parameters" in out
    assert "train_loss" in out


@pytest.mark.parametrize(
    "X_bad, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 1.0]]), "infinity"),
        (np.empty((0, 2)), "0 sample"),
    ],
)
def test_bad_X_gives_clear_error(X_bad, message):
    with pytest.raises(ValueError, match=message):
        TransferClassifier().fit(X_bad, np.arange(len(X_bad)) % 2)


def test_single_class_is_refused():
    X, _ = small_problem()
    with pytest.raises(ValueError, match="only one class"):
        TransferClassifier().fit(X, np.ones(len(X)))


def test_predict_checks_features_and_image_shape(digits, lenet_source):
    X, y = small_problem()
    clf = TransferClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="6 features"):
        clf.predict(X[:, :4])
    Xi, yi = digits
    clf = TransferClassifier(source=lenet_source, max_epochs=1).fit(Xi, yi)
    with pytest.raises(ValueError, match=r"shape \(1, 16, 16\)"):
        clf.predict(Xi[:, :, :16, :16])


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("transfer", "features", "transfer must be one of"),
        ("max_epochs", -1, "max_epochs must be an int >= 0"),
        ("lr", -1.0, "lr must be a non-negative number"),
        ("freeze_depth", 1.5, "freeze_depth must be an int"),
        ("module", "mlp", "module must be a torch.nn.Module"),
    ],
)
def test_bad_parameters_give_clear_errors(param, value, message):
    X, y = small_problem()
    with pytest.raises((ValueError, TypeError), match=message):
        TransferClassifier(**{param: value}).fit(X, y)


def test_augment_applies_to_training_batches_only():
    seen = []

    def record(batch):
        seen.append(batch.shape[0])
        return batch + 0.0

    X, y = small_problem(n=40)
    clf = TransferClassifier(augment=record, max_epochs=2, batch_size=16).fit(X, y)
    assert seen == [16, 16, 8, 16, 16, 8]
    clf.predict(X)
    assert len(seen) == 6
    with pytest.raises(TypeError, match="augment must be callable"):
        TransferClassifier(augment="flip").fit(X, y)


def test_classes_lets_a_fold_miss_some_labels():
    X, y = small_problem()
    clf = TransferClassifier(classes=[0, 1, 2], max_epochs=1).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match=r"labels \[5\] that are not in classes"):
        TransferClassifier(classes=[0, 1]).fit(X, np.where(y == 1, 5, 0))


def test_zero_epochs_gives_the_source_predictions(tabular_source, domains):
    _, _, Xt, yt = domains
    clf = TransferClassifier(source=tabular_source, max_epochs=0).fit(Xt[:20], yt[:20])
    np.testing.assert_allclose(
        clf.predict_proba(Xt), tabular_source.predict_proba(Xt), rtol=1e-6
    )


def test_predict_log_proba_is_the_log_of_predict_proba():
    X, y = small_problem()
    clf = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(
        np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-12
    )


# Partly labelled target rows (issue #27) -----------------------------------------


def test_search_over_partly_labelled_rows_scores_the_labelled_ones():
    from conftest import shifted_domains
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import GridSearchCV

    from sktransfer import Source

    Xs, ys, Xt, yt = shifted_domains(200, 90, n_features=8, n_classes=3)
    y = yt.copy()
    y[::3] = -1  # a third of the target rows unlabelled
    clf = TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=2, random_state=0)
    search = GridSearchCV(clf, {"target_weight": [0.3, 1.0]}, cv=2).fit(Xt, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()

    fitted, labelled = search.best_estimator_, y != -1
    expected = accuracy_score(y[labelled], fitted.predict(Xt[labelled]))
    assert fitted.score(Xt, y) == pytest.approx(expected)
    weights = np.linspace(0.5, 2.0, len(y))
    expected = accuracy_score(
        y[labelled], fitted.predict(Xt[labelled]), sample_weight=weights[labelled]
    )
    assert fitted.score(Xt, y, sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ValueError, match="information_maximization_score"):
        fitted.score(Xt, np.full(len(y), -1))


def test_selector_scores_the_labelled_rows():
    from conftest import shifted_domains
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    from sktransfer.selection import TransferSelector

    _, _, X, y = shifted_domains(10, 90, n_features=8, n_classes=3)
    selector = TransferSelector([LogisticRegression()], random_state=0).fit(X, y)
    partly = y.copy()
    partly[::3] = -1
    labelled = partly != -1
    expected = accuracy_score(y[labelled], selector.predict(X[labelled]))
    assert selector.score(X, partly) == pytest.approx(expected)
    with pytest.raises(ValueError, match="accuracy needs labels"):
        selector.score(X, np.full(len(y), -1))


def test_target_weight_without_source_rows_warns():
    import warnings

    from sktransfer import Source, TransferRegressor

    X, y = small_problem(n=60)
    fitted = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    for source in (None, fitted, Source(weights=fitted)):
        with pytest.warns(UserWarning, match=r"target_weight=0\.3 .* ignored"):
            TransferClassifier(source=source, target_weight=0.3, max_epochs=1).fit(X, y)
    with pytest.warns(UserWarning, match="target_weight=2.0"):
        TransferRegressor(target_weight=2.0, max_epochs=1).fit(X, X[:, 0])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*target_weight")
        TransferClassifier(source=fitted, max_epochs=1).fit(X, y)  # the default
        TransferRegressor(max_epochs=1).fit(X, X[:, 0])
        # With source rows it weighs the target rows' loss: no warning.
        TransferClassifier(
            source=Source(X=X, y=y), target_weight=0.3, max_epochs=1
        ).fit(X, y)


def test_input_and_state_dict_errors_name_the_fix():
    from sktransfer.models import MLP

    X, y = small_problem(n=60, n_features=8)
    fitted = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    for source in (fitted, fitted.module_):
        with pytest.raises(ValueError, match=r"shape \(5,\)") as error:
            TransferClassifier(source=source, max_epochs=1).fit(X[:, :5], y)
        assert "keeps its network as it is, first layer included" in str(error.value)
        assert "pass module=MLP" in str(error.value)
    # The fix it names works: a new first layer, the rest transferred.
    with pytest.warns(UserWarning, match="re-initialised"):
        narrow = TransferClassifier(source=fitted, module=MLP, max_epochs=1)
        narrow.fit(X[:, :5], y)
    assert (narrow.transfer_report_["status"] == "transferred").any()

    images = np.random.RandomState(0).normal(size=(20, 1, 28, 28)).astype("float32")
    state_dict = {
        "conv1.weight": torch.zeros(4, 1, 5, 5), "conv1.bias": torch.zeros(4)
    }  # fmt: skip
    with pytest.raises(ValueError, match="nothing would be transferred") as error:
        TransferClassifier(source=state_dict, max_epochs=1).fit(images, y[:20])
    assert "a state dict holds no architecture: pass module=" in str(error.value)
