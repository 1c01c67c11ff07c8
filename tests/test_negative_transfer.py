"""TransferSelector(target_only=...): the chosen transfer next to a model of the
labelled target rows alone, by cross-validation, and a warning when the
latter wins (#27 item 5)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from sktransfer import NegativeTransferWarning, TransferClassifier, TransferSelector


def digit_domains(n_source=500, n_labelled=100, seed=0):
    """Source: digits as they are; target: rotated by 90 degrees and noisy."""
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(seed).permutation(len(y))
    src, tgt = order[:n_source], order[n_source : n_source + n_labelled]
    rotated = np.rot90(X[tgt].reshape(-1, 8, 8), k=1, axes=(1, 2)).reshape(-1, 64)
    noisy = rotated + np.random.RandomState(seed + 1).normal(
        scale=4, size=rotated.shape
    )
    return (
        (X[src] / 16).astype("float32"),
        y[src],
        (noisy / 16).astype("float32"),
        y[tgt],
    )


def test_the_user_is_told_when_the_target_rows_alone_do_better():
    Xs, ys, Xt, yt = digit_domains()
    source = TransferClassifier(max_epochs=10, random_state=0, verbose=0).fit(Xs, ys)
    fine_tune = TransferClassifier(
        source=source, max_epochs=10, random_state=0, verbose=0
    )
    selector = TransferSelector(
        [("fine-tune", fine_tune)],
        target_only=LogisticRegression(max_iter=1000),
        random_state=0,
    )
    with pytest.warns(NegativeTransferWarning, match="target rows alone scores higher"):
        selector.fit(Xt, yt)
    assert selector.negative_transfer_ is True
    assert selector.target_only_.startswith(
        "5-fold cross-validation on the 100 labelled target rows"
    )
    assert selector.target_only_.endswith("transfer hurts here")
    report = selector.report_.set_index("candidate")
    assert (
        report.loc["target only", "cv_accuracy"]
        > report.loc["fine-tune", "cv_accuracy"]
    )
    assert selector.best_name_ == "fine-tune"  # the choice is unchanged
    assert selector.target_only_estimator_.score(Xt, yt) > 0.9  # fitted on all 100


def test_no_warning_when_the_transfer_does_better():
    X, y = load_digits(return_X_y=True)
    selector = TransferSelector(
        [("logistic", LogisticRegression(max_iter=1000))],
        target_only=DummyClassifier(),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", NegativeTransferWarning)
        selector.fit(X[:200], y[:200])
    assert selector.negative_transfer_ is False
    assert not selector.target_only_.endswith("transfer hurts here")


def test_too_few_labelled_rows_are_not_compared():
    X, y = load_digits(return_X_y=True)
    y = y[:40].copy()
    y[y >= 2] = 0  # class 1 keeps its few rows
    keep = np.flatnonzero(y == 1)[:1]
    y[np.flatnonzero(y == 1)[1:]] = 0
    selector = TransferSelector(
        [LogisticRegression(max_iter=1000)], target_only=True, random_state=0
    ).fit(X[:40], y)
    assert len(keep) == 1 and selector.negative_transfer_ is None
    assert selector.target_only_.startswith("not compared")
    assert selector.target_only_estimator_ is None
    assert "target only" not in selector.report_["candidate"].tolist()


def test_without_target_only_nothing_changes():
    X, y = load_digits(return_X_y=True)
    selector = TransferSelector([LogisticRegression(max_iter=1000)]).fit(X[:60], y[:60])
    assert selector.target_only_ is None and selector.negative_transfer_ is None
    assert "cv_accuracy" not in selector.report_


def test_a_candidate_may_not_take_the_target_only_name():
    X, y = load_digits(return_X_y=True)
    selector = TransferSelector(
        [("target only", LogisticRegression())], target_only=True
    )
    with pytest.raises(ValueError, match="named 'target only'"):
        selector.fit(X[:60], y[:60])
