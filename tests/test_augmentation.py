"""Batch augmentations: shapes, randomness under a seed, identity settings."""

import torch
from sklearn.base import clone

from sktransfer.augmentation import Compose, RandomAffine, RandomStrokeWidth


def test_identity_settings_leave_the_batch_unchanged():
    X = torch.rand(5, 1, 12, 12)
    out = RandomAffine(degrees=0, translate=0, scale=(1, 1))(X)
    torch.testing.assert_close(out, X, atol=1e-5, rtol=0)
    torch.testing.assert_close(RandomStrokeWidth(0, 0)(X), X)


def test_affine_is_random_per_image_and_seeded():
    X = torch.zeros(8, 1, 20, 20)
    X[:, :, 8:12, 8:12] = 1
    torch.manual_seed(0)
    a = RandomAffine(degrees=20, translate=0.2)(X)
    torch.manual_seed(0)
    b = RandomAffine(degrees=20, translate=0.2)(X)
    assert torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])
    assert a.shape == X.shape and a.min() >= 0 and a.max() <= 1


def test_stroke_width_dilates_and_erodes():
    X = torch.zeros(1, 1, 7, 7)
    X[:, :, 2:5, 2:5] = 1
    assert RandomStrokeWidth(1, 0)(X).sum() == 25
    assert RandomStrokeWidth(0, 1)(X).sum() == 1


def test_compose_and_params_are_tunable():
    aug = Compose([RandomStrokeWidth(), RandomAffine(degrees=5)])
    aug.set_params(steps=[RandomAffine(degrees=7)])
    assert clone(aug).steps[0].degrees == 7
    assert aug(torch.rand(2, 1, 8, 8)).shape == (2, 1, 8, 8)
