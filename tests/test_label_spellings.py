"""Binary tasks with string and -1/+1 labels through deep adaptation (#29 item 8).

Each adaptation loss trains on encoded labels; these tests check that what a
user spells comes back: ``classes_``, ``predict`` and ``score`` in the user's
labels, the source's classes when the target's labelled rows show only one,
and a clear refusal where ``-1`` would be both a class and the unlabelled
marker.
"""

import numpy as np
import pytest

from sktransfer import Source, TransferClassifier
from sktransfer.adaptation import (
    CDAN,
    DANN,
    MCC,
    SHOT,
    InformationMaximization,
    MeanTeacher,
)

LABELS = {"strings": np.array(["neg", "pos"]), "plus_minus_one": np.array([-1, 1])}


def _task(labels, seed=0):
    """A separable binary source and a shifted target, labels spelled ``labels``."""
    rng = np.random.RandomState(seed)
    Xs = rng.randn(120, 4).astype(np.float32)
    Xt = (rng.randn(90, 4) + 0.3).astype(np.float32)
    return (
        Xs,
        labels[(Xs[:, 0] > 0).astype(int)],
        Xt,
        labels[(Xt[:, 0] > 0).astype(int)],
    )


def _unlabelled(labels, n):
    """Target labels all unlabelled, with the marker each spelling uses."""
    return np.full(n, -1) if labels.dtype.kind == "U" else np.zeros(n, int)


def _marker(labels):
    return -1 if labels.dtype.kind == "U" else 0


@pytest.mark.parametrize("spelling", sorted(LABELS))
@pytest.mark.parametrize(
    "loss",
    [DANN, InformationMaximization, MCC, CDAN, MeanTeacher],
    ids=lambda c: c.__name__,
)
def test_unsupervised_adaptation_answers_in_the_users_labels(spelling, loss):
    labels = LABELS[spelling]
    Xs, ys, Xt, yt = _task(labels)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=loss(), unlabelled=_marker(labels),
        max_epochs=20, lr=0.01, verbose=0, random_state=0,
    ).fit(Xt, _unlabelled(labels, len(Xt)))  # fmt: skip
    np.testing.assert_array_equal(clf.classes_, labels)
    predicted = clf.predict(Xt)
    assert set(predicted) <= set(labels)
    # The mapping is right, not just the spelling: the target is easy.
    assert clf.score(Xt, yt) > 0.85
    proba = clf.predict_proba(Xt)
    np.testing.assert_array_equal(labels[proba.argmax(1)], predicted)


@pytest.mark.parametrize("spelling", sorted(LABELS))
def test_source_free_shot_answers_in_the_source_models_labels(spelling):
    labels = LABELS[spelling]
    Xs, ys, Xt, yt = _task(labels)
    pretrained = TransferClassifier(max_epochs=20, lr=0.01, verbose=0, random_state=0)
    pretrained.fit(Xs, ys)
    clf = TransferClassifier(
        source=Source(weights=pretrained), adaptation=SHOT(),
        unlabelled=_marker(labels), max_epochs=3, verbose=0, random_state=0,
    ).fit(Xt, _unlabelled(labels, len(Xt)))  # fmt: skip
    np.testing.assert_array_equal(clf.classes_, labels)
    assert clf.score(Xt, yt) > 0.85


@pytest.mark.parametrize("spelling", sorted(LABELS))
def test_labelled_target_rows_of_one_class_keep_the_source_classes(spelling):
    labels = LABELS[spelling]
    Xs, ys, Xt, yt = _task(labels)
    y = _unlabelled(labels, len(Xt)).astype(object)
    pos = np.flatnonzero(yt == labels[1])[:5]
    y[pos] = labels[1]
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DANN(), unlabelled=_marker(labels),
        max_epochs=20, lr=0.01, verbose=0, random_state=0,
    ).fit(Xt, y)  # fmt: skip
    np.testing.assert_array_equal(clf.classes_, labels)
    assert set(clf.predict(Xt)) == set(labels)


def test_minus_one_as_a_class_and_as_the_marker_is_refused():
    Xs, ys, Xt, _ = _task(LABELS["plus_minus_one"])
    clf = TransferClassifier(source=Source(X=Xs, y=ys), adaptation=DANN(), max_epochs=1)
    with pytest.raises(ValueError, match="-1, which marks unlabelled") as info:
        clf.fit(Xt, np.full(len(Xt), -1))
    assert "another marker" in str(info.value)


def test_string_labels_with_a_string_marker():
    labels = LABELS["strings"]
    Xs, ys, Xt, yt = _task(labels)
    y = yt.astype(object)
    y[10:] = "?"
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DANN(), unlabelled="?",
        max_epochs=20, lr=0.01, verbose=0, random_state=0,
    ).fit(Xt, y)  # fmt: skip
    np.testing.assert_array_equal(clf.classes_, labels)
    assert clf.score(Xt, yt) > 0.85
