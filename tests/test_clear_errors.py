"""Deep crashes and vague errors that get the library's own message (issue 26)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LinearRegression
from torch import nn

from sktransfer import (
    ImageMapping,
    Source,
    TransferClassifier,
    load_office_caltech10,
)
from sktransfer._training.nets import NonFiniteLossError
from sktransfer.adaptation import SHOT, MeanTeacher
from sktransfer.metrics import (
    DeepEmbeddedValidation,
    _transferability,
    h_score,
    information_maximization_score,
    leep,
    log_me,
    prediction_entropy_score,
    soft_neighborhood_density_score,
)

RNG = np.random.RandomState(0)
X = RNG.normal(size=(30, 4)).astype(np.float32)
Y = np.arange(30) % 2


def test_mean_teacher_augment_giving_nan_gets_the_non_finite_message():
    clf = TransferClassifier(
        source=Source(X=X, y=Y),
        adaptation=MeanTeacher(augment=lambda t: t * float("nan")),
        max_epochs=1,
    )
    with pytest.raises(NonFiniteLossError, match=r"the loss is nan \(adapt_loss"):
        clf.fit(X, np.full(30, -1))


def test_mean_teacher_class_balance_is_the_binary_cross_entropy():
    # The balance term is written out (NaN-tolerant): the same values as
    # torch's binary_cross_entropy on valid inputs.
    mean = torch.tensor([0.1, 0.7, 0.2]).clamp(1e-6, 1 - 1e-6)
    u = 1.0 / 3
    expected = nn.functional.binary_cross_entropy(mean, torch.full_like(mean, u))
    written = -(u * mean.log() + (1 - u) * (1 - mean).log()).mean()
    torch.testing.assert_close(written, expected)


@pytest.mark.parametrize(
    "criterion, match",
    [
        (nn.MSELoss, "criterion=MSELoss cannot take"),
        (nn.BCEWithLogitsLoss, "criterion=BCEWithLogitsLoss cannot take"),
        (nn.L1Loss(), "criterion=L1Loss cannot take"),
        (nn.CrossEntropyLoss(reduction="none"), "not one number"),
    ],
)
def test_a_criterion_that_cannot_take_logits_and_class_indices_is_refused(
    criterion, match
):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's broadcasting warning stays out
        with pytest.raises(ValueError, match=match) as info:
            TransferClassifier(criterion=criterion, max_epochs=1).fit(X, Y)
    assert "CrossEntropyLoss" in str(info.value)


@pytest.mark.parametrize(
    "params",
    [
        dict(criterion=nn.CrossEntropyLoss(label_smoothing=0.1)),
        dict(criterion=nn.CrossEntropyLoss, criterion__weight=torch.tensor([1.0, 2.0])),
    ],
)
def test_classification_criteria_are_accepted(params):
    criterion = params["criterion"]
    TransferClassifier(max_epochs=1, **params).fit(X, Y)
    if isinstance(criterion, nn.Module):
        assert criterion.label_smoothing == 0.1  # the instance is untouched


@pytest.mark.parametrize(
    "scorer, name",
    [
        (information_maximization_score, "information_maximization_score"),
        (prediction_entropy_score, "prediction_entropy_score"),
        (soft_neighborhood_density_score, "soft_neighborhood_density_score"),
        (DeepEmbeddedValidation(X, Y), "DeepEmbeddedValidation"),
    ],
)
def test_scorers_reading_probabilities_refuse_an_estimator_without_them(scorer, name):
    regressor = LinearRegression().fit(X, Y)
    with pytest.raises(ValueError, match=f"{name} reads the estimator's class") as info:
        scorer(regressor, X)
    assert "LinearRegression has no predict_proba" in str(info.value)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_transferability_scores_take_a_sparse_matrix(fmt):
    dense = np.where(RNG.rand(30, 6) > 0.6, RNG.rand(30, 6), 0.0)
    dense[:, 0] += Y
    sparse = sp.random(1, 1).asformat(fmt).__class__(dense)
    assert log_me(sparse, Y) == pytest.approx(log_me(dense, Y), rel=1e-12)
    assert h_score(sparse, Y) == pytest.approx(h_score(dense, Y), rel=1e-12)
    proba = np.c_[dense[:, :1], 1 - dense[:, :1]] / 1.0
    proba = np.clip(proba, 0, 1)
    proba /= proba.sum(axis=1, keepdims=True)
    assert leep(sp.csr_matrix(proba), Y) == pytest.approx(leep(proba, Y), rel=1e-12)


def test_a_sparse_matrix_too_large_to_densify_is_refused(monkeypatch):
    monkeypatch.setattr(_transferability, "SPARSE_DENSIFY_MAX_BYTES", 100)
    with pytest.raises(ValueError, match="features is a sparse matrix of shape"):
        log_me(sp.csr_matrix(X), Y)


@pytest.mark.parametrize(
    "y",
    [
        [0, "a"] * 15,  # a list: numpy would make it the strings "0", "a"
        np.array([0, "a"] * 15, dtype=object),  # sklearn: "Unknown label type"
    ],
    ids=["list", "object-array"],
)
def test_labels_mixing_strings_and_numbers_are_refused(y):
    with pytest.raises(ValueError, match=r"y mixes strings and numbers \(e\.g\. 'a'"):
        TransferClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="y mixes strings and numbers"):
        log_me(X, y)


def test_source_labels_mixing_strings_and_numbers_are_refused():
    source = Source(X=X, y=np.array(["a", 1] * 15, dtype=object))
    with pytest.raises(ValueError, match="Source.y mixes strings and numbers"):
        TransferClassifier(source=source, max_epochs=1).fit(
            X, np.array(["a", "b"] * 15)
        )


def test_string_labels_with_the_numeric_marker_are_not_mixed():
    y = np.array(["cat", "dog"] * 15, dtype=object)
    y[:10] = -1  # unlabelled rows, in the marker's own type
    clf = TransferClassifier(
        source=Source(X=X, y=np.array(["cat", "dog"] * 15)), max_epochs=1
    ).fit(X, y)
    assert clf.classes_.tolist() == ["cat", "dog"]


@pytest.mark.parametrize("domain", [["amazon"], ("amazon", "dslr"), 3, None])
def test_office_caltech_domain_must_be_one_name(tmp_path, domain):
    with pytest.raises(ValueError, match="domain must be one of") as info:
        load_office_caltech10(domain, data_home=tmp_path)
    if isinstance(domain, list | tuple):
        assert "one domain per call" in str(info.value)


@pytest.mark.parametrize("param", ["batch_size", "box"])
def test_image_mapping_refuses_a_bool_for_an_int(param):
    images = RNG.rand(2, 1, 16, 16).astype(np.float32)
    with pytest.raises(ValueError, match=f"{param} must be a positive int, got True"):
        ImageMapping(**{param: True}).fit_transform(images)


def test_shot_message_reports_the_heads_shapes():
    source = TransferClassifier(max_epochs=1).fit(X, np.arange(30) % 8)
    clf = TransferClassifier(
        source=source, classes=[0, 1], adaptation=SHOT(), max_epochs=1
    )
    with pytest.raises(ValueError, match="output layer") as info:
        clf.fit(X, np.full(30, -1))
    message = str(info.value)
    assert "(source shape (8, 100), target (2, 100))" in message


# -- found by tests/test_properties.py ---------------------------------------------


@pytest.mark.parametrize("value", ["1", None, (2.5,)])
def test_module_settings_that_cannot_build_the_network_are_named(value):
    with pytest.raises(ValueError, match="MLP could not be built with") as info:
        TransferClassifier(max_epochs=1, module__hidden_units=value).fit(X, Y)
    assert f"module__hidden_units={value!r}" in str(info.value)


@pytest.mark.parametrize(
    "params",
    [
        dict(batch_size=np.int64(5)),
        dict(iterator_train__batch_size=np.int64(5)),
        dict(max_epochs=np.int64(1), lr=np.float32(0.01)),
    ],
)
def test_numpy_scalars_are_taken_like_python_ones(params):
    # The checks accept np.int64 as an int; torch's BatchSampler did not.
    clf = TransferClassifier(**{"max_epochs": 1, **params})
    assert np.isfinite(clf.fit(X, Y).predict_proba(X)).all()
