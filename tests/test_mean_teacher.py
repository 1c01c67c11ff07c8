"""MeanTeacher: an averaged copy of the network teaches it, on confident rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sktransfer import Source, TransferClassifier
from sktransfer.adaptation import DomainBatch, MeanTeacher


def _batch(network, teacher, X_target) -> DomainBatch:
    empty = torch.empty(0)
    return DomainBatch(
        X_source=empty, y_source=empty, X_target=X_target, X_labelled=empty,
        y_labelled=empty, logits_source=empty, logits_target=network(X_target),
        logits_labelled=empty, features_source=None, features_target=None,
        progress=0.0, step=0, parts=teacher, network=network,
    )  # fmt: skip


def _identity(X):
    return X


def _pair(seed=0):
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return network, MeanTeacher(augment=_identity).build_for(network, None)


def test_the_teacher_starts_as_a_frozen_copy_and_follows_as_a_moving_average():
    network, teacher = _pair()
    assert teacher is not network
    assert not any(p.requires_grad for p in teacher.parameters())
    for t, s in zip(teacher.parameters(), network.parameters(), strict=True):
        assert torch.equal(t, s)
    before = [p.clone() for p in teacher.parameters()]
    with torch.no_grad():
        for p in network.parameters():
            p.add_(1.0)
    loss = MeanTeacher(ema=0.9, augment=_identity)
    loss.after_step(_batch(network, teacher, torch.zeros(2, 4)))
    for t, old, s in zip(
        teacher.parameters(), before, network.parameters(), strict=True
    ):
        torch.testing.assert_close(t, 0.9 * old + 0.1 * s)


def test_only_rows_the_teacher_is_sure_of_count():
    network, teacher = _pair()
    with torch.no_grad():
        teacher[2].weight.zero_()
        teacher[2].bias.copy_(torch.tensor([10.0, 0.0, 0.0]))  # sure: class 0
    X = torch.randn(16, 4)
    sure = MeanTeacher(threshold=0.9, class_balance=0, augment=_identity)
    unsure = MeanTeacher(threshold=0.99999, class_balance=0, augment=_identity)
    loss = sure.batch_loss(_batch(network, teacher, X))
    assert loss > 0
    loss.backward()
    assert network[0].weight.grad.abs().sum() > 0
    assert unsure.batch_loss(_batch(network, teacher, X)) == 0


def test_a_student_that_agrees_with_its_teacher_has_no_consistency_loss():
    network, teacher = _pair()
    loss = MeanTeacher(threshold=0.0, class_balance=0, augment=_identity)
    assert loss.batch_loss(_batch(network, teacher, torch.randn(8, 4))) == 0


def test_class_balance_penalises_a_collapsed_student():
    network, teacher = _pair()
    with torch.no_grad():
        teacher[2].bias.copy_(torch.tensor([50.0, 0.0, 0.0]))  # every row sure
    X = torch.randn(12, 4)
    balanced = MeanTeacher(threshold=0.5, augment=_identity, class_balance=1.0)
    with torch.no_grad():
        network[2].weight.zero_()
        network[2].bias.copy_(torch.tensor([50.0, 0.0, 0.0]))  # all class 0
    collapsed_loss = balanced.batch_loss(_batch(network, teacher, X))
    teacher_like = balanced.batch_loss(_batch(teacher, teacher, X))
    no_balance = MeanTeacher(threshold=0.5, augment=_identity, class_balance=0.0)
    assert collapsed_loss > no_balance.batch_loss(_batch(network, teacher, X))
    assert teacher_like > 0  # the teacher is collapsed too: balance still counts


def test_a_view_of_another_shape_is_refused():
    network, teacher = _pair()
    loss = MeanTeacher(augment=lambda X: X[:, :2])
    with pytest.raises(ValueError, match="MeanTeacher's augment must return"):
        loss.batch_loss(_batch(network, teacher, torch.randn(4, 4)))


def _domains(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y, X + 0.7


def test_fitted_with_a_mean_teacher_the_teacher_is_never_trained_by_gradient():
    X_source, y_source, X_target = _domains()
    clf = TransferClassifier(
        source=Source(X=X_source, y=y_source),
        adaptation=MeanTeacher(threshold=0.6, ema=0.5),
        max_epochs=3, random_state=0,
    ).fit(X_target, np.full(len(X_target), -1))  # fmt: skip
    teacher = clf.net_.adaptation_parts_
    optimised = {id(p) for g in clf.net_.optimizer_.param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in teacher.parameters()}
    assert "adapt_loss" in clf.history_[-1]
    # The fitted network kept the teacher's weights (predict_with="teacher").
    for t, s in zip(teacher.parameters(), clf.module_.parameters(), strict=True):
        assert torch.equal(t, s)
    student = TransferClassifier(
        source=Source(X=X_source, y=y_source),
        adaptation=MeanTeacher(threshold=0.6, ema=0.5, predict_with="student"),
        max_epochs=3, random_state=0,
    ).fit(X_target, np.full(len(X_target), -1))  # fmt: skip
    # The teacher is a moving average of the student: close to it, not equal.
    diffs = [
        (t - s).abs().max().item()
        for t, s in zip(
            student.net_.adaptation_parts_.parameters(),
            student.module_.parameters(),
            strict=True,
        )
    ]
    assert 0 < max(diffs) < 0.5
    for t, s in zip(
        teacher.parameters(), student.net_.adaptation_parts_.parameters(), strict=True
    ):
        assert torch.equal(t, s)  # same training either way; only the kept weights
    same = TransferClassifier(
        source=Source(X=X_source, y=y_source),
        adaptation=MeanTeacher(threshold=0.6, ema=0.5),
        max_epochs=3, random_state=0,
    ).fit(X_target, np.full(len(X_target), -1))  # fmt: skip
    np.testing.assert_array_equal(
        clf.predict_proba(X_target), same.predict_proba(X_target)
    )


@pytest.mark.parametrize(
    "params, message",
    [({"ema": 1.5}, "adaptation__ema"), ({"threshold": -0.1}, "adaptation__threshold"),
     ({"class_balance": -1}, "adaptation__class_balance"),
     ({"augment": 3}, "adaptation__augment"), ({"layer": -2}, "adaptation__layer"),
     ({"predict_with": "mean"}, "adaptation__predict_with"),
     # No probability exceeds 1: no row would ever count.
     ({"threshold": 1.0}, r"adaptation__threshold must be a number in \[0, 1\)"),
     # A teacher that never moves, kept as the fitted network: no training.
     ({"ema": 1.0}, "adaptation__ema=1 never updates the teacher")],
)  # fmt: skip
def test_bad_settings_are_refused_by_name(params, message):
    X_source, y_source, X_target = _domains(n=40)
    clf = TransferClassifier(
        source=Source(X=X_source, y=y_source),
        adaptation=MeanTeacher(**params), max_epochs=1,
    )  # fmt: skip
    with pytest.raises(ValueError, match=message):
        clf.fit(X_target, np.full(len(X_target), -1))


def test_a_fixed_teacher_is_allowed_when_the_student_is_kept():
    X_source, y_source, X_target = _domains(n=40)
    clf = TransferClassifier(
        source=Source(X=X_source, y=y_source),
        adaptation=MeanTeacher(ema=1.0, threshold=0.0, predict_with="student"),
        max_epochs=1, random_state=0,
    ).fit(X_target, np.full(len(X_target), -1))  # fmt: skip
    assert np.isfinite(clf.predict_proba(X_target)).all()
