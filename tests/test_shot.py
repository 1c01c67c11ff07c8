"""SHOT and source-free adaptation: a source's weights, unlabelled target rows."""

import numpy as np
import pytest
import torch

from sktransfer import Source, TransferClassifier
from sktransfer.adaptation import DANN, SHOT, AdaptationLoss, InformationMaximization
from sktransfer.adaptation.shot import cluster_centroids, nearest_centroid


def blobs(n=300, seed=0):
    """Two compact classes 4 apart along axis 0; the target is shifted by 1.6
    along it (and by 1 along axis 1), across the source's boundary."""
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(2, size=n), rng.randint(2, size=n)
    Xs, Xt = rng.normal(size=(n, 5)) * 0.6, rng.normal(size=(n, 5)) * 0.6
    Xs[:, 0] += 4.0 * ys
    Xt[:, 0] += 4.0 * yt + 1.6
    Xt[:, 1] += 1.0
    return Xs.astype(np.float32), ys, Xt.astype(np.float32), yt


@pytest.fixture(scope="module")
def source():
    Xs, ys, _, _ = blobs()
    return TransferClassifier(max_epochs=20, random_state=0).fit(Xs, ys)


def unlabelled(n):
    return np.full(n, -1)


def test_centroids_follow_the_clusters_not_the_soft_labels():
    rng = np.random.RandomState(0)
    a = rng.normal(size=(50, 3)) * 0.1 + [5, 0, 0]
    b = rng.normal(size=(50, 3)) * 0.1 + [0, 5, 0]
    features = torch.as_tensor(np.r_[a, b], dtype=torch.float32)
    # Predictions right on 80 % of each cluster: the hard round corrects them.
    proba = torch.zeros(100, 2)
    proba[:40, 0] = proba[50:90, 1] = 1
    proba[40:50, 1] = proba[90:, 0] = 1
    centroids = cluster_centroids(features, proba)
    assert centroids.shape == (2, 4)  # one appended constant
    labels = nearest_centroid(features, centroids)
    assert labels.tolist() == [0] * 50 + [1] * 50


def test_a_class_no_row_is_nearest_to_keeps_its_soft_centroid():
    # Identical rows: both soft centroids are that row; the tie goes to class
    # 0, so class 1 gets no row in the hard round and keeps its soft centroid.
    features = torch.tensor([[3.0, 4.0]] * 3)
    proba = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]])
    centroids = cluster_centroids(features, proba)
    row = torch.tensor([3.0, 4.0, 1.0]) / torch.tensor(26.0).sqrt()
    torch.testing.assert_close(centroids, torch.stack([row, row]))


def test_source_free_fit_keeps_the_head_and_adapts_the_rest(source):
    _, _, Xt, yt = blobs()
    clf = TransferClassifier(
        source=source, adaptation=SHOT(), max_epochs=15, random_state=0
    ).fit(Xt, unlabelled(len(Xt)))
    head = [n for n, _ in clf.module_.named_parameters()][-2:]
    before, after = source.module_.state_dict(), clf.module_.state_dict()
    for name in head:
        assert torch.equal(before[name], after[name])
    assert not torch.equal(before["layers.1.weight"], after["layers.1.weight"])
    report = clf.transfer_report_.set_index("parameter")["trainable"]
    assert not report[head].any() and report.drop(head).all()
    # No source rows: no source loss; the pseudo-labels' centroids are kept.
    assert "source_loss" not in clf.history_[-1]
    assert np.isfinite(clf.history_[:, "adapt_loss"]).all()
    width = clf.module_.layers[1].out_features  # what the head reads, and a 1
    assert clf.net_.adaptation_parts_.centroids.shape == (2, width + 1)
    # The shifted target fools the source (64 %); SHOT recovers most of it.
    assert source.score(Xt, yt) < 0.7 and clf.score(Xt, yt) > 0.9


def test_source_free_is_reproducible(source):
    _, _, Xt, _ = blobs()

    def fit():
        return TransferClassifier(
            source=source, adaptation=SHOT(), max_epochs=3, random_state=1
        ).fit(Xt, unlabelled(len(Xt)))

    np.testing.assert_array_equal(fit().predict_proba(Xt), fit().predict_proba(Xt))


def test_labelled_target_rows_are_used_without_source_rows(source):
    _, _, Xt, yt = blobs()
    y = unlabelled(len(Xt))
    y[:10] = yt[:10]
    clf = TransferClassifier(
        source=source, adaptation=SHOT(), max_epochs=2, random_state=0
    ).fit(Xt, y)
    assert {"target_loss", "adapt_loss"} <= set(clf.history_[-1])


def test_head_trained_when_asked_and_with_information_maximization(source):
    _, _, Xt, _ = blobs()
    for loss in (SHOT(freeze_head=False), InformationMaximization()):
        clf = TransferClassifier(
            source=source, adaptation=loss, max_epochs=2, random_state=0
        ).fit(Xt, unlabelled(len(Xt)))
        assert clf.transfer_report_["trainable"].all()
        assert not torch.equal(
            source.module_.state_dict()["layers.3.bias"],
            clf.module_.state_dict()["layers.3.bias"],
        )


def test_with_source_rows_shot_adds_the_source_loss(source):
    Xs, ys, Xt, _ = blobs()
    clf = TransferClassifier(
        source=Source(weights=source, X=Xs, y=ys),
        adaptation=SHOT(),
        max_epochs=2,
        random_state=0,
    ).fit(Xt, unlabelled(len(Xt)))
    assert {"source_loss", "adapt_loss"} <= set(clf.history_[-1])


def test_pseudo_label_weight_zero_is_shot_im(source):
    _, _, Xt, _ = blobs()
    clf = TransferClassifier(
        source=source,
        adaptation=SHOT(pseudo_label_weight=0),
        max_epochs=2,
        random_state=0,
    ).fit(Xt, unlabelled(len(Xt)))
    assert clf.net_.adaptation_parts_.labels.numel() == 0  # never computed


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(adaptation=SHOT()), "Source-free adaptation adapts a source network"),
        (dict(adaptation=DANN(), source="fitted"), "DANN needs labelled source data"),
        (
            dict(adaptation=SHOT(), source="fitted", adaptation_weight=0.0),
            "adaptation_weight=0 leaves nothing",
        ),
        (
            dict(adaptation=SHOT(), source="fitted", classes=[0, 1, 2]),
            "needs the source's output layer",
        ),
        (dict(adaptation=SHOT(), source="state"), "give classes="),
        (dict(adaptation=SHOT(layer=None), source="fitted"), "layer must be"),
        (dict(adaptation=SHOT(freeze_head=1), source="fitted"), "freeze_head"),
    ],
)
def test_errors(source, kwargs, message):
    _, _, Xt, _ = blobs(n=40)
    given = kwargs.get("source")
    kwargs["source"] = {
        "fitted": source,
        "state": {k: v.clone() for k, v in source.module_.state_dict().items()},
        None: None,
    }[given]
    with pytest.raises(ValueError, match=message):
        TransferClassifier(max_epochs=1, **kwargs).fit(Xt, unlabelled(len(Xt)))


def test_labelled_rows_without_weight_leave_nothing_to_train(source):
    # mu = 0 and target_weight = 0: the labelled rows would count for nothing.
    _, _, Xt, yt = blobs(n=40)
    y = unlabelled(len(Xt))
    y[:10] = yt[:10]
    with pytest.raises(ValueError, match="adaptation_weight=0 leaves nothing"):
        TransferClassifier(
            source=source, adaptation=SHOT(), adaptation_weight=0.0,
            target_weight=0.0, max_epochs=1,
        ).fit(Xt, y)  # fmt: skip
    clf = TransferClassifier(
        source=source, adaptation=SHOT(), adaptation_weight=0.0, max_epochs=1,
        random_state=0,
    ).fit(Xt, y)  # fmt: skip
    assert np.isfinite(clf.history_[-1]["train_loss"])


class TargetFeatures(AdaptationLoss):
    """A target-only loss on features, not on class probabilities."""

    needs_source_data = False

    def loss(self, source, target, *, module, progress):
        return target.pow(2).mean()


def test_regressors_still_need_source_rows():
    from sktransfer import TransferRegressor

    X = np.random.RandomState(0).normal(size=(30, 3)).astype(np.float32)
    source = TransferRegressor(max_epochs=1, random_state=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="needs labelled source data"):
        TransferRegressor(source=source, adaptation=TargetFeatures(), max_epochs=1).fit(
            X, X[:, 0]
        )
    # A loss on class probabilities is refused first: it means nothing there.
    with pytest.raises(ValueError, match="reads the network's outputs as class"):
        TransferRegressor(
            source=source, adaptation=InformationMaximization(), max_epochs=1
        ).fit(X, X[:, 0])


def test_target_labels_the_source_does_not_predict_are_refused(source):
    # The source predicts {0, 1}; its kept head would read output 1 as 7.
    _, _, Xt, _ = blobs(n=40)
    y = unlabelled(len(Xt))
    y[:3], y[3:6] = 0, 7
    with pytest.raises(ValueError, match=r"y has labels \[7\] that the source"):
        TransferClassifier(source=source, adaptation=SHOT(), max_epochs=1).fit(Xt, y)
    # Saying what the outputs stand for is the way out.
    clf = TransferClassifier(
        source=source, adaptation=SHOT(), classes=[0, 7], max_epochs=1
    ).fit(Xt, y)
    np.testing.assert_array_equal(clf.classes_, [0, 7])


def test_one_labelled_class_from_a_state_dict_asks_for_classes(source):
    # Five rows of one label are one class, not five: classes= is needed.
    _, _, Xt, _ = blobs(n=40)
    y = unlabelled(len(Xt))
    y[:5] = 0
    state = {k: v.clone() for k, v in source.module_.state_dict().items()}
    with pytest.raises(ValueError, match="too few labelled target rows.*classes="):
        TransferClassifier(source=state, adaptation=SHOT(), max_epochs=1).fit(Xt, y)


def test_each_step_says_which_target_rows_it_drew():
    from sktransfer._training.loaders import DomainBatches

    class Data:
        X = np.arange(40, dtype=np.float32).reshape(20, 2)
        y = np.full(20, -1)

    torch.manual_seed(0)
    empty = (np.empty((0, 2), np.float32), np.empty(0, np.int64))
    loader = DomainBatches(
        Data, batch_size=8, source=empty, adapt=True, labelled=np.zeros(20, bool)
    )
    assert len(loader) == 3  # ceil(20 / 8): no source rows to pace the epoch
    for step in loader:
        X_s, y_s, X_t, X_l, y_l = step
        assert len(X_s) == len(X_l) == 0 and len(step) == 8
        np.testing.assert_array_equal(X_t.numpy(), Data.X[step.target_rows.numpy()])


def test_pseudo_labels_are_kept_per_target_row(source):
    _, _, Xt, yt = blobs()
    clf = TransferClassifier(
        source=source, adaptation=SHOT(), max_epochs=15, random_state=0
    ).fit(Xt, unlabelled(len(Xt)))
    labels = clf.net_.adaptation_parts_.labels.numpy()
    assert labels.shape == (len(Xt),)
    assert (labels == yt).mean() > 0.9  # the last epoch's, from its features


def test_frozen_batch_norm_statistics_survive_the_epoch_passes():
    from sktransfer.models import LeNet

    rng = np.random.RandomState(0)
    X = rng.rand(64, 1, 28, 28).astype(np.float32)
    y = (X[:, 0, :14].mean(axis=(1, 2)) > X[:, 0, 14:].mean(axis=(1, 2))).astype(int)
    source = TransferClassifier(
        LeNet, module__n_classes=2, max_epochs=2, batch_size=16, random_state=0
    ).fit(X, y)
    clf = TransferClassifier(
        LeNet,
        source=source,
        adaptation=SHOT(),
        freeze_depth=1,
        max_epochs=2,
        batch_size=16,
        random_state=0,
    ).fit(X + 0.2, unlabelled(len(X)))
    for name in ("bn1.running_mean", "bn1.running_var", "conv1.weight"):
        torch.testing.assert_close(
            clf.module_.state_dict()[name], source.module_.state_dict()[name]
        )
    assert not torch.equal(
        clf.module_.state_dict()["bn2.running_mean"],
        source.module_.state_dict()["bn2.running_mean"],
    )
