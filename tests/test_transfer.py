"""Parameter transfer, structure transfer, freezing, and tuning them in GridSearchCV."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

from sktransfer import TransferClassifier
from sktransfer.models import MLP, LeNet


class RecordStart(Callback):
    """Keeps a copy of the weights the training starts from."""

    def on_train_begin(self, net, **kwargs):
        self.start_ = {k: v.clone() for k, v in net.module_.state_dict().items()}


def start_gap(estimator, X, y):
    """Largest distance between the fit's starting weights and the source's."""
    start = dict(estimator.net_.callbacks_)["start"].start_
    source = estimator.source.module_.state_dict()
    return max((start[k] - source[k]).abs().max().item() for k in source)


def test_fine_tuning_beats_training_from_scratch(domains, tabular_source):
    _, _, Xt, yt = domains
    gains = []
    for seed in range(3):
        rng = np.random.RandomState(seed)
        labelled = np.concatenate(
            [rng.choice(np.flatnonzero(yt == c), 2, replace=False) for c in range(5)]
        )
        test = np.setdiff1d(np.arange(len(yt)), labelled)
        scratch = TransferClassifier(random_state=seed).fit(Xt[labelled], yt[labelled])
        tuned = TransferClassifier(source=tabular_source, random_state=seed)
        tuned.fit(Xt[labelled], yt[labelled])
        gains.append(
            tuned.score(Xt[test], yt[test]) - scratch.score(Xt[test], yt[test])
        )
    assert np.mean(gains) > 0.2, gains


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_tunes_freeze_depth_and_every_fold_starts_from_source(
    n_jobs, domains, tabular_source
):
    _, _, Xt, yt = domains
    est = TransferClassifier(
        source=tabular_source, max_epochs=3, callbacks=[("start", RecordStart())]
    )
    grid = {"freeze_depth": [0, 1, -1], "lr": [1e-3, 1e-2]}
    search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs, scoring=start_gap)
    search.fit(Xt[:90], yt[:90])
    # Every fold of every candidate started exactly at the source's weights.
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], 0.0)
    assert search.best_estimator_.source is tabular_source


def test_grid_search_over_accuracy(domains, tabular_source):
    _, _, Xt, yt = domains
    est = TransferClassifier(source=tabular_source, max_epochs=5, random_state=0)
    search = GridSearchCV(est, {"freeze_depth": [0, 1, -1]}, cv=3).fit(Xt[:60], yt[:60])
    assert search.best_params_["freeze_depth"] in (0, 1, -1)
    assert search.score(Xt[60:], yt[60:]) > 0.6


def moved(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


LENET_BLOCKS = ["conv1", "conv2", "fc1", "fc2"]
CONV1 = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias"}
CONV2 = {"conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias"}
FC1 = {"fc1.weight", "fc1.bias"}
FC2 = {"fc2.weight", "fc2.bias"}
BN_STATS = {
    f"{bn}.{s}" for bn in ("bn1", "bn2") for s in ("running_mean", "running_var")
}


@pytest.mark.parametrize(
    "freeze_depth, frozen",
    [
        (0, set()),
        (1, CONV1),
        (2, CONV1 | CONV2),
        (-1, CONV1 | CONV2 | FC1),
        (-3, CONV1),
        ("conv*", CONV1 | CONV2),
        (["fc1", "conv1.*"], CONV1 | FC1),
    ],
)
def test_freeze_depth_decides_exactly_which_parameters_move(
    freeze_depth, frozen, digits, lenet_source
):
    X, y = digits
    clf = TransferClassifier(
        source=lenet_source, freeze_depth=freeze_depth, max_epochs=2, random_state=0
    ).fit(X, y)
    assert clf.blocks_ == LENET_BLOCKS
    src = lenet_source.state_dict()
    new = clf.module_.state_dict()
    transferred = {k for k in src if k in new and src[k].shape == new[k].shape}
    params = {n for n, _ in clf.module_.named_parameters()}
    # Frozen parameters keep the source's values, trainable transferred ones move.
    assert params & moved({k: src[k] for k in transferred}, new) == (
        (transferred & params) - frozen
    )
    frozen_bn_stats = {s for s in BN_STATS if s.split(".")[0] + ".weight" in frozen}
    assert moved({k: src[k] for k in BN_STATS}, new) == BN_STATS - frozen_bn_stats
    report = clf.transfer_report_.set_index("parameter")
    assert set(report.index[~report["trainable"]]) == frozen
    in_optimizer = {
        id(p) for group in clf.net_.optimizer_.param_groups for p in group["params"]
    }
    named = dict(clf.module_.named_parameters())
    assert {n for n in named if id(named[n]) in in_optimizer} == params - frozen


def test_new_head_for_fewer_classes(lenet_source):
    rng = np.random.RandomState(0)
    X = rng.rand(30, 1, 28, 28).astype(np.float32)
    y = np.arange(30) % 5
    clf = TransferClassifier(source=lenet_source, max_epochs=1).fit(X, y)
    report = clf.transfer_report_.set_index("parameter")
    assert report.loc["fc2.weight", "status"] == "fresh"
    assert report.loc["fc2.weight", "shape"] == (5, 128)
    assert report.loc["fc2.weight", "source_shape"] == (10, 128)
    assert (report.drop(["fc2.weight", "fc2.bias"])["status"] == "transferred").all()
    assert lenet_source.fc2.out_features == 10  # the source keeps its head


def test_new_first_layer_when_input_channels_differ(lenet_source):
    rng = np.random.RandomState(0)
    X = rng.rand(20, 3, 28, 28).astype(np.float32)
    y = np.arange(20) % 10
    clf = TransferClassifier(LeNet, source=lenet_source, max_epochs=1).fit(X, y)
    status = clf.transfer_report_.set_index("parameter")["status"]
    assert status["conv1.weight"] == "fresh"
    assert status["conv1.bias"] == "transferred"
    assert status["conv2.weight"] == "transferred"
    assert clf.module_.conv1.in_channels == 3


def test_structure_transfer_reuses_architecture_with_fresh_weights(
    digits, lenet_source
):
    X, y = digits
    clf = TransferClassifier(
        source=lenet_source, transfer="structure", max_epochs=0 + 1, random_state=0
    ).fit(X, y)
    assert isinstance(clf.module_, LeNet)
    assert set(clf.transfer_report_["status"]) == {"fresh"}
    with pytest.raises(ValueError, match="holds weights only"):
        TransferClassifier(source=lenet_source.state_dict(), transfer="structure").fit(
            X, y
        )


def test_transferred_lr_sets_a_param_group(domains, tabular_source):
    _, _, Xt, yt = domains
    clf = TransferClassifier(
        source=tabular_source,
        freeze_depth=1,
        lr=0.01,
        transferred_lr=1e-4,
        max_epochs=1,
    ).fit(Xt, yt)
    lrs = {
        id(p): g["lr"] for g in clf.net_.optimizer_.param_groups for p in g["params"]
    }
    assert lrs[id(clf.module_.layers[3].weight)] == 1e-4


def test_sources_of_every_kind_transfer_the_same_weights(tmp_path, domains):
    Xs, ys, Xt, yt = domains
    fitted = TransferClassifier(max_epochs=2, random_state=0).fit(Xs, ys)
    skorch_net = NeuralNetClassifier(
        MLP,
        module__n_features=50,
        module__n_classes=5,
        max_epochs=1,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
    )
    skorch_net.fit(Xs.astype(np.float32), ys)
    skorch_net.module_.load_state_dict(fitted.module_.state_dict())
    state = fitted.module_.state_dict()
    torch.save(state, tmp_path / "weights.pt")
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "checkpoint.pt")
    parallel = {"module." + k: v for k, v in state.items()}
    sources = [
        fitted,
        skorch_net,
        fitted.module_,
        state,
        parallel,
        str(tmp_path / "weights.pt"),
        tmp_path / "checkpoint.pt",
    ]
    for source in sources:
        clf = TransferClassifier(source=source, freeze_depth=-1, max_epochs=1)
        clf.fit(Xt[:30], yt[:30])
        first = clf.module_.layers[1].weight
        assert torch.equal(first, state["layers.1.weight"]), type(source)


def test_unsupported_and_unusable_sources(tmp_path, digits):
    X, y = digits
    Xf = X.reshape(len(X), -1)
    with pytest.raises(TypeError, match="source must be"):
        TransferClassifier(source=42).fit(Xf, y)
    with pytest.raises(ValueError, match="not fitted"):
        TransferClassifier(source=TransferClassifier()).fit(Xf, y)
    with pytest.raises(ValueError, match="does not exist"):
        TransferClassifier(source=str(tmp_path / "missing.pt")).fit(Xf, y)
    (tmp_path / "text.pt").write_text("not a torch file")
    with pytest.raises(ValueError, match="could not be read"):
        TransferClassifier(source=tmp_path / "text.pt").fit(Xf, y)
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a state dict"):
        TransferClassifier(source=tmp_path / "list.pt").fit(Xf, y)
    with pytest.raises(ValueError, match="nothing would be transferred"):
        TransferClassifier(source={"other.weight": torch.zeros(3, 3)}).fit(Xf, y)


class Payload:
    """Pickling this object makes unpickling create a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_payload_is_refused_not_executed(tmp_path, digits):
    X, y = digits
    marker = tmp_path / "executed"
    torch.save({"w": Payload(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refused"):
        TransferClassifier(source=tmp_path / "evil.pt").fit(X.reshape(48, -1), y)
    assert not marker.exists()


def test_network_that_cannot_take_X_gives_clear_error(digits, lenet_source):
    X, y = digits
    with pytest.raises(ValueError, match=r"cannot take X with samples of shape"):
        TransferClassifier(source=lenet_source).fit(X[:, :, :16, :16], y)
    Xs = np.random.RandomState(0).normal(size=(40, 8))
    src = TransferClassifier(max_epochs=1).fit(Xs, np.arange(40) % 2)
    with pytest.raises(ValueError, match="cannot take X"):
        TransferClassifier(src.module_).fit(Xs[:, :5], np.arange(40) % 2)


def test_freeze_depth_beyond_the_network(digits, lenet_source):
    X, y = digits
    with pytest.raises(ValueError, match="only 4 blocks"):
        TransferClassifier(source=lenet_source, freeze_depth=5).fit(X, y)
    with pytest.raises(ValueError, match="nothing would be left to train"):
        TransferClassifier(source=lenet_source, freeze_depth=4).fit(X, y)
    with pytest.raises(ValueError, match="match no layer"):
        TransferClassifier(source=lenet_source, freeze_depth="decoder*").fit(X, y)
