"""No silent wrong answers: each trap a fit could fall into fails loudly."""

import copy
import pickle
import threading
import types
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from torch import nn

from sktransfer import (
    FeatureTransferTransformer,
    Source,
    TransferClassifier,
    TransferRegressor,
    TransferSelector,
    information_maximization_score,
)
from sktransfer._training.nets import NonFiniteLossError
from sktransfer.adaptation import DANN, MMD, AdaptationLoss, InformationMaximization
from sktransfer.regularization import L2SP


def blobs(n=120, seed=0, labels=(0, 1)):
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(2, size=n), rng.randint(2, size=n)
    Xs, Xt = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
    Xs[:, 0] += 3.0 * ys
    Xt[:, 0] += 3.0 * yt
    Xt[:, 1:] += 0.5
    labels = np.asarray(labels)
    return Xs.astype(np.float32), labels[ys], Xt.astype(np.float32), labels[yt]


# 1. Few-shot folds keep the source's head ------------------------------------


def test_folds_missing_classes_keep_the_source_head(domains, tabular_source):
    _, _, Xt, yt = domains
    some = np.isin(yt, [0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is re-initialised: no warning
        clf = TransferClassifier(source=tabular_source, max_epochs=1).fit(
            Xt[some][:60], yt[some][:60]
        )
    np.testing.assert_array_equal(clf.classes_, tabular_source.classes_)
    assert (clf.transfer_report_["status"] == "transferred").all()
    # One label per class, KFold: every fold misses its test row's class.
    few = np.array([np.flatnonzero(yt == c)[0] for c in range(5)])
    est = TransferClassifier(source=tabular_source, max_epochs=0)
    scores = cross_val_score(est, Xt[few], yt[few], cv=KFold(5))
    assert scores.mean() > 0.2  # it was exactly 0 with a fresh head per fold


def test_a_reinitialised_output_layer_is_reported(domains, tabular_source):
    _, _, Xt, yt = domains
    with pytest.warns(UserWarning, match=r"re-initialised 2 parameter.*classes="):
        clf = TransferClassifier(source=tabular_source, max_epochs=1).fit(
            Xt[:60],
            np.where(yt[:60] > 2, "high", "low"),  # not the source's labels
        )
    report = clf.transfer_report_.set_index("parameter")
    assert report.loc["layers.3.weight", "reinitialised"]
    assert not report.loc["layers.1.weight", "reinitialised"]


# 2. The unlabelled marker ---------------------------------------------------


def test_minus_one_as_a_class_is_not_read_as_unlabelled():
    Xs, ys, Xt, yt = blobs(labels=(-1, 1))
    with pytest.raises(ValueError, match=r"Source.y contains -1.*unlabelled=None"):
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, yt)
    clf = TransferClassifier(source=Source(X=Xs, y=ys), unlabelled=None, max_epochs=1)
    clf.fit(Xt, yt)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])
    assert clf.net_.history[-1, "target_loss"] > 0  # the -1 rows were learnt from
    Xs, ys, Xt, yt = blobs()
    y = yt.astype(object)
    y[10:] = "?"
    clf = TransferClassifier(source=Source(X=Xs, y=ys), unlabelled="?", max_epochs=1)
    np.testing.assert_array_equal(clf.fit(Xt, y).classes_, [0, 1])
    with pytest.raises(ValueError, match="classes contains -1"):
        TransferClassifier(source=Source(X=Xs, y=ys), classes=[-1, 0, 1]).fit(Xt, yt)


def test_the_marker_spelled_in_another_type_is_not_read_as_a_class():
    # String labels with "-1" meant as unlabelled, against the int marker -1:
    # "-1" would otherwise be a class, silently.
    Xs, ys, Xt, yt = blobs(labels=("a", "b"))
    y = yt.astype(object)
    y[10:] = "-1"
    with pytest.raises(ValueError, match=r"y holds '-1', a string, but unlabelled=-1"):
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, y)
    clf = TransferClassifier(source=Source(X=Xs, y=ys), unlabelled="-1", max_epochs=1)
    np.testing.assert_array_equal(clf.fit(Xt, y).classes_, ["a", "b"])
    Xs, ys, Xt, yt = blobs()
    y = yt.copy()
    y[10:] = -1
    with pytest.raises(ValueError, match=r"y holds -1, a number, but unlabelled='-1'"):
        TransferClassifier(source=Source(X=Xs, y=ys), unlabelled="-1").fit(Xt, y)
    with pytest.raises(ValueError, match="unlabelled='-1'"):
        TransferSelector([TransferClassifier(max_epochs=1)], unlabelled="-1").fit(Xt, y)


# 3. Source rows do not pass through a Pipeline ------------------------------


def test_unscaled_source_rows_behind_a_scaler_are_flagged():
    Xs, ys, Xt, yt = blobs()
    raw = Source(X=Xs * 100, y=ys)  # what the user has before scaling
    pipe = make_pipeline(StandardScaler(), TransferClassifier(source=raw, max_epochs=1))
    with pytest.warns(UserWarning, match="do not pass through the Pipeline"):
        pipe.fit(Xt * 100, yt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, yt)


# 4. Non-finite settings and losses -------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(lr=float("inf")), "lr must be"),
        (dict(target_weight=float("nan")), "target_weight must be"),
        (dict(adaptation=DANN(gamma=float("nan"))), "adaptation__gamma"),
        (dict(adaptation=MMD(multipliers=(0,))), "adaptation__multipliers"),
        (
            dict(adaptation=InformationMaximization(diversity=float("nan"))),
            "adaptation__diversity",
        ),
        (dict(adaptation=DANN(hidden_units=0)), "adaptation__hidden_units"),
    ],
)
def test_non_finite_or_out_of_range_settings_are_refused(params, match):
    Xs, ys, Xt, yt = blobs()
    with pytest.raises(ValueError, match=match):
        TransferClassifier(source=Source(X=Xs, y=ys), **params).fit(Xt, yt)


class NaNLoss(nn.Module):
    def forward(self, logits, y):
        return logits.sum() * float("nan")


class NaNAdaptation(AdaptationLoss):
    def __init__(self, layer=None):
        self.layer = layer

    def batch_loss(self, batch):
        return batch.logits_target.sum() * float("nan")


def test_a_non_finite_loss_stops_training_with_a_clear_error():
    Xs, ys, Xt, yt = blobs()
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 1.*train_loss"):
        TransferClassifier(criterion=NaNLoss, max_epochs=2).fit(Xt, yt)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=NaNAdaptation(), max_epochs=2
    )
    with pytest.raises(NonFiniteLossError, match="adapt_loss"):
        clf.fit(Xt, np.full(len(Xt), -1))
    with pytest.raises(NotFittedError):
        clf.predict(Xt)  # a failed fit leaves nothing that looks fitted


# 5. Source.y is checked like y ----------------------------------------------


def test_continuous_source_labels_are_refused():
    Xs, _, Xt, yt = blobs()
    source = Source(X=Xs, y=np.linspace(0, 1, len(Xs)))
    with pytest.raises(ValueError, match="Source.y must hold class labels"):
        TransferClassifier(source=source, max_epochs=1).fit(Xt, yt)


# 6. No caller array ever changes ----------------------------------------------


def test_an_in_place_first_layer_never_writes_into_the_callers_arrays():
    Xs, ys, Xt, yt = blobs()
    module = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(5, 2))
    arrays = [Xs, Xt]
    before = [a.copy() for a in arrays]
    clf = TransferClassifier(module, max_epochs=1).fit(Xt, yt)
    clf.predict_proba(Xt)
    TransferClassifier(module, source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, yt)
    TransferClassifier(source=clf, max_epochs=1).fit(Xt, yt)
    FeatureTransferTransformer(module, layer="1").fit(Xt).transform(Xt)
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


# 7. Ctrl-C reaches the user -----------------------------------------------------


class Interrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_ctrl_c_is_not_swallowed():
    _, _, Xt, yt = blobs()
    clf = TransferClassifier(max_epochs=5, callbacks=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(Xt, yt)
    with pytest.raises(NotFittedError):
        clf.predict(Xt)
    search = GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=2)
    with pytest.raises(KeyboardInterrupt):
        search.fit(Xt, yt)


# 8. Threads ---------------------------------------------------------------------


def run_in_threads(functions):
    results = [None] * len(functions)

    def call(i):
        results[i] = functions[i]()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(functions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_transform_from_threads_returns_each_calls_own_features(lenet_source):
    rng = np.random.RandomState(0)
    inputs = [rng.rand(40, 1, 28, 28).astype(np.float32) for _ in range(4)]
    ft = FeatureTransferTransformer(lenet_source, layer="fc1", batch_size=8)
    ft.fit(inputs[0])
    serial = [ft.transform(X) for X in inputs]
    threaded = run_in_threads([lambda X=X: ft.transform(X) for X in inputs])
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_seeded_fits_in_threads_are_reproducible():
    _, _, Xt, yt = blobs()
    params = dict(max_epochs=3, random_state=0, module__dropout=0.5)
    serial = TransferClassifier(**params).fit(Xt, yt).predict_proba(Xt)
    fits = run_in_threads(
        [lambda: TransferClassifier(**params).fit(Xt, yt) for _ in range(3)]
    )
    for clf in fits:
        np.testing.assert_array_equal(clf.predict_proba(Xt), serial)


def _predicting(model, X, stop):
    """A thread that calls ``model.predict_proba(X)`` until ``stop`` is set."""

    def loop():
        while not stop.is_set():
            model.predict_proba(X)

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def test_predictions_in_another_thread_do_not_shift_a_seeded_fit():
    # torch's DataLoader draws a seed from torch's global generator at every
    # pass, predictions included: a predict_proba in one thread shifted a
    # seeded fit running in another (issue 26).
    X = np.random.RandomState(0).randn(60, 5)
    y = np.arange(60) % 3
    params = dict(max_epochs=15, random_state=0)
    ref = TransferClassifier(**params).fit(X, y).predict_proba(X)
    stop = threading.Event()
    thread = _predicting(TransferClassifier(max_epochs=1).fit(X, y), X, stop)
    try:
        for _ in range(20):
            fits = run_in_threads(
                [lambda: TransferClassifier(**params).fit(X, y).predict_proba(X)] * 2
            )
            assert [np.array_equal(p, ref) for p in fits] == [True, True]
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize(
    "estimator",
    [
        TransferClassifier(max_epochs=8, random_state=0),
        TransferRegressor(max_epochs=8, random_state=0),
        TransferClassifier(max_epochs=8, random_state=0, regularization=L2SP()),
    ],
    ids=["classifier", "regressor", "l2sp"],
)
def test_cross_validation_in_threads_scores_as_in_sequence(estimator):
    X = np.random.RandomState(1).randn(80, 5).astype(np.float32)
    y = np.arange(80) % 2
    if estimator.regularization is not None:  # L2SP pulls towards a source
        source = TransferClassifier(max_epochs=2, random_state=0).fit(X, y)
        estimator = clone(estimator).set_params(source=source)
    if isinstance(estimator, TransferRegressor):
        y = X[:, 0] + 0.1 * X[:, 1]
    sequential = cross_val_score(estimator, X, y, cv=8)
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = cross_val_score(estimator, X, y, cv=8)
    np.testing.assert_array_equal(threaded, sequential)


def test_predicting_draws_nothing_from_torchs_global_generator():
    Xs, ys, Xt, yt = blobs(n=60)
    models = [
        TransferClassifier(max_epochs=1).fit(Xt, yt),
        TransferRegressor(max_epochs=1).fit(Xt, yt.astype(float)),
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, yt),
    ]
    state = torch.random.get_rng_state()
    for model in models:
        model.predict(Xt)
        model.score(Xt, yt)
        getattr(model, "predict_proba", model.predict)(Xt)
    assert torch.equal(torch.random.get_rng_state(), state)


# 9. A model pickles as itself, not with its source -------------------------------


def test_a_model_trained_with_source_data_pickles_as_its_weights():
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(3000, 20)).astype(np.float32)
    ys = (Xs[:, 0] > 0).astype(int)
    Xt, yt = Xs[:200] + 0.5, ys[:200]
    plain = TransferClassifier(max_epochs=1, random_state=0).fit(Xt, yt)
    across = TransferClassifier(
        source=Source(weights=plain, X=Xs, y=ys), max_epochs=1, random_state=0
    ).fit(Xt, yt)
    size_plain, size_across = len(pickle.dumps(plain)), len(pickle.dumps(across))
    assert size_across < 2 * size_plain, (size_plain, size_across)
    again = pickle.loads(pickle.dumps(across))
    np.testing.assert_array_equal(again.predict_proba(Xt), across.predict_proba(Xt))
    with pytest.raises(ValueError, match=r"without its source.*set_params\(source="):
        again.fit(Xt, yt)
    assert copy.deepcopy(across).source is across.source  # in memory: shared
    chained = TransferClassifier(source=again, max_epochs=1).fit(Xt, yt)
    assert len(pickle.dumps(chained)) < 2 * size_plain  # no growth along a chain


def _arrays_held_by(estimator) -> list:
    """Every NumPy array and torch tensor reachable from the estimator's
    attributes (its ``source`` parameter aside), through containers and
    objects' attributes."""
    stack = [v for k, v in vars(estimator).items() if k != "source"]
    seen, found = set(), []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray | torch.Tensor):
            found.append(obj)
        elif isinstance(obj, dict):
            stack.extend([*obj.keys(), *obj.values()])
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return found


@pytest.mark.parametrize("dtype", [np.float64, np.float32])  # copied, or as given
def test_a_fitted_model_holds_no_reference_to_the_source_rows(dtype):
    # It no longer pickled them, but kept them in memory: 39 MiB for
    # 100000 x 100 source rows, for as long as the model lived (issue 26).
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(173, 5)).astype(dtype), rng.normal(size=(60, 5))
    ys, yt = np.arange(173) % 2, np.arange(60) % 2
    for model in (
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1),
        TransferRegressor(source=Source(X=Xs, y=ys * 1.0), max_epochs=1),
    ):
        model.fit(Xt, yt * (1.0 if isinstance(model, TransferRegressor) else 1))
        held = _arrays_held_by(model)
        assert held  # the walk reaches the network's weights
        assert not [tuple(a.shape) for a in held if len(a.shape) and len(a) == 173]
        assert not [a for a in held if isinstance(a, np.ndarray)
                    and np.shares_memory(a, Xs)]  # fmt: skip
        model.predict(Xt)  # predicting needs no source row
    again = copy.deepcopy(model)
    with pytest.raises(ValueError, match="released when the fit ended"):
        again.net_.partial_fit(Xt, yt * 1.0)  # the net alone cannot go on


# 10. Scoring unlabelled rows ------------------------------------------------------


def test_accuracy_on_unlabelled_rows_is_refused():
    Xs, ys, Xt, _ = blobs()
    unlabelled = np.full(len(Xt), -1)
    clf = TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1)
    clf.fit(Xt, unlabelled)
    with pytest.raises(ValueError, match="information_maximization_score"):
        clf.score(Xt, unlabelled)
    search = GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=2)
    with pytest.warns(UserWarning, match="Scoring failed"):
        search.fit(Xt, unlabelled)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()  # not a quiet 0
    label_free = GridSearchCV(
        clf, {"lr": [1e-3, 1e-2]}, cv=2, scoring=information_maximization_score
    ).fit(Xt, unlabelled)
    assert np.isfinite(label_free.cv_results_["mean_test_score"]).all()


def test_a_last_step_that_blows_the_weights_up_is_reported():
    # One step, a finite loss, then weights so large that the outputs are
    # inf/NaN: every prediction would have been NaN (argmax: class 0).
    import torch

    _, _, Xt, yt = blobs(n=30)
    clf = TransferClassifier(
        optimizer=torch.optim.SGD, lr=1e30, max_epochs=1, random_state=0
    )
    with pytest.raises(NonFiniteLossError, match="outputs are not finite"):
        clf.fit(Xt, yt)
    with pytest.raises(NotFittedError):
        clf.predict(Xt)


def test_source_weights_giving_nan_are_reported_without_training():
    _, _, Xt, yt = blobs(n=30)
    source = TransferClassifier(max_epochs=1, random_state=0).fit(Xt, yt)
    state = {k: v.clone() for k, v in source.module_.state_dict().items()}
    state["layers.1.weight"][0, 0] = float("nan")
    clf = TransferClassifier(source=state, max_epochs=0)  # source only
    with pytest.raises(NonFiniteLossError, match="outputs are not finite"):
        clf.fit(Xt, yt)


def test_adaptation_weight_without_an_adaptation_loss_warns():
    # Said, not refused: a grid over adaptation=[None, DANN()] and
    # adaptation_weight must still fit its None candidates.
    _, _, Xt, yt = blobs(n=30)
    with pytest.warns(
        UserWarning, match=r"adaptation_weight=0.5 .* adaptation is None"
    ):
        TransferClassifier(adaptation_weight=0.5, max_epochs=1).fit(Xt, yt)
    with pytest.warns(UserWarning, match="adaptation is None"):
        TransferRegressor(adaptation_weight=0.0, max_epochs=1).fit(Xt, yt * 1.0)
    # The reason it is a warning: a grid over both still fits every candidate.
    Xs, ys, Xt, yt = blobs(n=40)
    search = GridSearchCV(
        TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1, random_state=0),
        {"adaptation": [None, DANN()], "adaptation_weight": [0.3, 1.0]},
        cv=KFold(2),
        error_score="raise",
    )
    with pytest.warns(UserWarning, match="adaptation is None"):
        search.fit(Xt, yt)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_regressor_reports_a_non_finite_loss_too():
    _, _, Xt, yt = blobs()
    with pytest.raises(ValueError, match="lr must be"):
        TransferRegressor(lr=float("nan")).fit(Xt, yt.astype(float))
    with pytest.raises(NonFiniteLossError):
        TransferRegressor(criterion=NaNLoss, max_epochs=1).fit(Xt, yt.astype(float))


def test_the_shared_source_cannot_be_changed_through_an_estimator(tabular_source):
    from sklearn.base import clone
    from sklearn.utils import get_tags

    est = clone(TransferClassifier(source=tabular_source))
    with pytest.raises(ValueError, match="shared by reference"):
        est.set_params(source__lr=0.5)
    assert tabular_source.lr == 1e-3
    assert get_tags(est).input_tags.three_d_array  # images are accepted


def test_hand_averaged_ensemble_keeps_the_labels_meta_estimators_recode():
    # VotingClassifier & co. re-code y as 0..m-1 (the docstring's Notes); the
    # way it recommends, averaging members that share the source, keeps the
    # source's classes even when the target lacks one and has unlabelled rows.
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(150, 4)).astype(np.float32)
    ys = (Xs[:, 0] > 0).astype(int) + (Xs[:, 1] > 0)  # classes 0, 1, 2
    Xt, yt = Xs[:60] + 0.3, ys[:60].copy()
    yt[yt == 1] = 2  # the target lacks class 1
    yt[30:] = -1
    source = Source(X=Xs, y=ys)
    members = [
        TransferClassifier(source=source, max_epochs=2, random_state=seed).fit(Xt, yt)
        for seed in (0, 1)
    ]
    for member in members:
        np.testing.assert_array_equal(member.classes_, [0, 1, 2])
    proba = np.mean([member.predict_proba(Xt) for member in members], axis=0)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    for member in members:  # VotingClassifier's members predicted -1 here
        assert -1 not in member.predict(Xt)
