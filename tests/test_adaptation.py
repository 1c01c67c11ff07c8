"""Joint training and unsupervised domain adaptation: the mechanics."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from sktransfer import (
    Source,
    TransferClassifier,
    information_maximization_score,
    prediction_entropy_score,
)
from sktransfer._training.loaders import DomainBatches, IndexStream
from sktransfer.adaptation import (
    DANN,
    MMD,
    AdaptationLoss,
    DeepCORAL,
    InformationMaximization,
)
from sktransfer.adaptation.base import DomainBatch
from sktransfer.adaptation.coral import covariance
from sktransfer.adaptation.objective import DomainSetup, joint_objective
from sktransfer.models import MLP


def blobs(n=300, shift=3.0, seed=0):
    """Two classes along axis 0; the target is shifted and stretched on the others."""
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(2, size=n), rng.randint(2, size=n)
    Xs, Xt = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
    Xs[:, 0] += 3.0 * ys
    Xt[:, 0] += 3.0 * yt
    Xt[:, 1:] = 2.5 * Xt[:, 1:] + shift
    return Xs.astype(np.float32), ys, Xt.astype(np.float32), yt


def features(clf, X):
    """The hidden representation (after the ReLU) of the fitted default MLP."""
    with torch.no_grad():
        return clf.module_.layers[:3](torch.as_tensor(X, dtype=torch.float32)).numpy()


def domain_accuracy(clf, Xs, Xt):
    F = np.vstack([features(clf, Xs), features(clf, Xt)])
    d = np.r_[np.zeros(len(Xs)), np.ones(len(Xt))]
    return LogisticRegression(max_iter=1000).fit(F, d).score(F, d)


def test_minus_one_marks_unlabelled_rows_and_never_becomes_a_class():
    Xs, ys, Xt, yt = blobs()
    y = np.where(np.arange(len(yt)) < 20, yt, -1)
    clf = TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=2, random_state=0)
    clf.fit(Xt, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert set(clf.predict(Xt)) <= {0, 1}
    # All -1 with an adaptation loss: unsupervised adaptation, classes from source.
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DeepCORAL(), max_epochs=2
    ).fit(Xt, np.full(len(Xt), -1))
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    # Without source data, -1 stays an ordinary label.
    clf = TransferClassifier(max_epochs=1).fit(Xt, np.where(yt == 0, -1, 1))
    np.testing.assert_array_equal(clf.classes_, [-1, 1])


def test_string_labels_across_domains():
    Xs, ys, Xt, yt = blobs()
    names = np.array(["cat", "dog"], dtype=object)
    y = names[yt].copy()
    y[30:] = -1
    clf = TransferClassifier(source=Source(X=Xs, y=names[ys]), max_epochs=2)
    clf.fit(Xt, y)
    assert list(clf.classes_) == ["cat", "dog"]


def gradients(setup, module, batch):
    module.zero_grad()
    X_s, y_s, X_l, y_l, X_t = batch
    logits = module(torch.cat([X_s, X_l, X_t]))
    logits_s, logits_l, logits_t = logits.split([len(X_s), len(X_l), len(X_t)])
    step = DomainBatch(
        X_source=X_s, y_source=y_s, X_target=X_t, X_labelled=X_l, y_labelled=y_l,
        logits_source=logits_s, logits_target=logits_t, logits_labelled=logits_l,
        features_source=module.layers[1](X_s), features_target=module.layers[1](X_t),
        progress=1.0, step=0, parts=None, network=module,
    )  # fmt: skip
    loss, _ = joint_objective(torch.nn.CrossEntropyLoss(), step, setup)
    loss.backward()
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def test_target_weight_semantics_are_exact():
    torch.manual_seed(0)
    module = MLP(5, 2, hidden_units=(8,))
    g = torch.Generator().manual_seed(1)
    batch = (
        torch.randn(16, 5, generator=g),
        torch.randint(2, (16,), generator=g),
        torch.randn(6, 5, generator=g),
        torch.randint(2, (6,), generator=g),
        torch.randn(16, 5, generator=g) + 2,
    )

    def grad(target_weight, adaptation=None, adaptation_weight=0.0):
        setup = DomainSetup(
            target_weight=target_weight,
            adaptation=adaptation,
            adaptation_weight=adaptation_weight,
            layer="layers.1",
        )
        return gradients(setup, module, batch)

    module.zero_grad()
    torch.nn.functional.cross_entropy(module(batch[0]), batch[1]).backward()
    source_only = torch.cat([p.grad.flatten() for p in module.parameters()])
    torch.testing.assert_close(grad(0.0), source_only)
    # Doubling lambda doubles the target term.
    torch.testing.assert_close(
        grad(2.0) - grad(0.0), 2 * (grad(1.0) - grad(0.0)), rtol=1e-4, atol=1e-6
    )
    coral = DeepCORAL(layer="layers.1")
    torch.testing.assert_close(
        grad(0.0, coral, 3.0) - grad(0.0), 3 * (grad(0.0, coral, 1.0) - grad(0.0)),
        rtol=1e-4, atol=1e-6,
    )  # fmt: skip


def test_dann_makes_domains_harder_to_tell_apart():
    Xs, ys, Xt, yt = blobs(shift=2.0)
    y = np.full(len(Xt), -1)
    common = dict(source=Source(X=Xs, y=ys), max_epochs=100, random_state=0)
    common["module__hidden_units"] = (16,)
    dann = DANN(layer="layers.2", hidden_units=32)
    plain = TransferClassifier(adaptation=dann, adaptation_weight=0.0, **common)
    plain.fit(Xt, y)
    adapted = TransferClassifier(adaptation=dann, adaptation_weight=1.0, **common)
    adapted.fit(Xt, y)
    assert domain_accuracy(adapted, Xs, Xt) < domain_accuracy(plain, Xs, Xt) - 0.02
    assert adapted.score(Xt, yt) > plain.score(Xt, yt)
    # The domain classifier learnt: it is a module of the net, and it moved.
    assert "adaptation_parts" in adapted.net_.prefixes_
    assert hasattr(adapted.net_, "adaptation_parts_")
    assert adapted.net_.history[-1, "adapt_loss"] > 0


@pytest.mark.parametrize("loss", [DeepCORAL(layer="layers.2"), MMD(layer="layers.2")])
def test_coral_and_mmd_pull_feature_statistics_together(loss):
    Xs, ys, Xt, _ = blobs(shift=2.0)
    y = np.full(len(Xt), -1)
    common = dict(source=Source(X=Xs, y=ys), max_epochs=60, random_state=0)
    plain = TransferClassifier(**common).fit(Xt, np.r_[0, 1, y[2:]])
    adapted = TransferClassifier(adaptation=loss, adaptation_weight=10.0, **common)
    adapted.fit(Xt, y)

    def gap(clf):
        fs, ft = torch.as_tensor(features(clf, Xs)), torch.as_tensor(features(clf, Xt))
        cov = (covariance(fs) - covariance(ft)).norm().item()
        return (
            cov
            if isinstance(loss, DeepCORAL)
            else loss.loss(fs, ft, module=None, progress=1.0).item()
        )

    assert gap(adapted) < 0.5 * gap(plain)


def test_adaptation_hyperparameters_are_tunable():
    Xs, ys, Xt, yt = blobs(n=120)
    est = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DANN(), max_epochs=2, random_state=0
    )
    est.set_params(adaptation__gamma=5.0, adaptation_weight=0.5)
    assert clone(est).adaptation.gamma == 5.0
    search = GridSearchCV(
        est,
        {"adaptation__layer": [0, "layers.1"], "adaptation_weight": [0.1, 1.0]},
        scoring=information_maximization_score,
        cv=2,
    ).fit(Xt, np.full(len(Xt), -1))
    assert search.best_estimator_.source is est.source
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_source_data_is_shared_across_clones_and_folds():
    Xs, ys, Xt, yt = blobs(n=90)
    source = Source(X=Xs, y=ys)
    est = TransferClassifier(source=source, target_weight=2.0, max_epochs=1)
    assert clone(est).source is source
    scores = cross_val_score(est, Xt, yt, cv=3)
    assert scores.shape == (3,)
    from sktransfer.source import resolve_source

    assert np.shares_memory(resolve_source(source).X, Xs)  # float32: no copy


def test_domain_batches_balance_domains_without_rescanning():
    Xs, ys, Xt, _ = blobs(n=50)
    labels = np.full(50, -1)
    labels[:3] = [0, 1, 0]

    class Data:
        X, y = Xt[:20], labels[:20]

    torch.manual_seed(0)
    loader = DomainBatches(
        Data, batch_size=8, source=(Xs, ys), adapt=True, labelled=labels[:20] >= 0
    )
    assert len(loader) == 7  # ceil(max(50, 20) / 8)
    batches = list(loader)
    X_s, y_s, X_t, X_l, y_l = batches[0]
    assert X_s.shape == (8, 5) and X_t.shape == (8, 5) and X_l.shape == (3, 5)
    stream = IndexStream(10)
    first, second = stream.take(7), stream.take(7)
    assert sorted(np.r_[first, second[:3]]) == list(range(10))


def test_unsupervised_scores():
    Xs, ys, Xt, yt = blobs()
    clf = TransferClassifier(max_epochs=5, random_state=0).fit(Xs, ys)
    im = information_maximization_score(clf, Xt)
    assert 0 <= im <= np.log(2) + 1e-9
    assert prediction_entropy_score(clf, Xt) <= 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(adaptation=DANN()), ValueError, "DANN needs labelled source data"),
        (dict(adaptation="dann"), TypeError, "adaptation must be"),
        (dict(target_weight=-1.0), ValueError, "target_weight must be"),
        (dict(source=Source(X=np.zeros((4, 3)), y=[0, 1, 0, 1])), ValueError, "shape"),
        (dict(source=Source(X=np.zeros((4, 5)))), ValueError, "both X and y"),
        (dict(source=Source(X=np.zeros((4, 5)), y=[0, 1, 0, 7])), ValueError, "7"),
    ],
)
def test_domain_errors(kwargs, error, message):
    _, _, Xt, yt = blobs(n=40)
    with pytest.raises(error, match=message):
        TransferClassifier(
            **kwargs, classes=[0, 1] if "source" in kwargs else None
        ).fit(Xt, yt)


def test_a_new_loss_is_one_small_class():
    class MeanGap(AdaptationLoss):
        def loss(self, source, target, *, module, progress):
            return (source.mean(0) - target.mean(0)).pow(2).sum()

    Xs, ys, Xt, _ = blobs(n=60)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=MeanGap(layer=0), max_epochs=2
    ).fit(Xt, np.full(60, -1))
    assert clf.net_.history[-1, "adapt_loss"] >= 0


def test_information_maximization_makes_target_predictions_confident_and_diverse():
    Xs, ys, Xt, yt = blobs(shift=2.0)
    y = np.full(len(Xt), -1)
    im = InformationMaximization(layer=-1)
    common = dict(source=Source(X=Xs, y=ys), adaptation=im, max_epochs=30)
    plain = TransferClassifier(adaptation_weight=0.0, random_state=0, **common)
    adapted = TransferClassifier(adaptation_weight=1.0, random_state=0, **common)
    plain.fit(Xt, y)
    adapted.fit(Xt, y)
    assert information_maximization_score(adapted, Xt) > information_maximization_score(
        plain, Xt
    )
    proba = adapted.predict_proba(Xt).mean(axis=0)
    assert proba.min() > 0.25  # no collapse into one class


@pytest.mark.parametrize(
    "loss, weight", [(DANN(), 0.3), (MMD(), 1.0), (InformationMaximization(), 1.0)]
)
def test_auto_weight_is_the_loss_default(loss, weight):
    Xs, ys, Xt, _ = blobs(n=40)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=loss, max_epochs=1, random_state=0
    )
    assert clf.adaptation_weight == "auto"
    clf.fit(Xt, np.full(len(Xt), -1))
    assert clf.net_.domain.adaptation_weight == weight == type(loss).default_weight
    given = clone(clf).set_params(adaptation_weight=0.7).fit(Xt, np.full(len(Xt), -1))
    assert given.net_.domain.adaptation_weight == 0.7


def test_auto_weight_refuses_other_strings():
    Xs, ys, Xt, _ = blobs(n=40)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DANN(), adaptation_weight="Auto"
    )
    with pytest.raises(ValueError, match="adaptation_weight must be"):
        clf.fit(Xt, np.full(len(Xt), -1))
