"""Regularised fine-tuning: L2-SP and BSS, their formulas, and training with them."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from torch import nn

from sktransfer import Source, TransferClassifier, TransferRegressor
from sktransfer._network import prepare
from sktransfer._params import InvalidParameterError
from sktransfer._training import FrozenPrefix, why_not
from sktransfer.models import LeNet
from sktransfer.regularization import (
    BSS,
    L2SP,
    Compose,
    Regularization,
    RegularizationStep,
)
from sktransfer.source import resolve_source

SMALL = dict(channels=(4, 8), hidden_units=16)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny networks: one thread is faster, and immune to a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def table(n=60, n_features=5, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (n_classes > 2) * (X[:, 2] > 1)
    return X, y


def three_layers(n_in=5, n_out=2):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(n_in, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, n_out)
    )


@pytest.fixture(scope="module")
def small_lenet():
    torch.manual_seed(0)
    net = LeNet(n_classes=2, **SMALL)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(16, 1, 28, 28))
    return net.eval()


def step(transferred=None, fresh=None, features=None):
    return RegularizationStep(
        network=nn.Module(),
        transferred=transferred or {},
        fresh=fresh or {},
        features=features or {},
        device=torch.device("cpu"),
    )


def history(clf, key="reg_loss"):
    return [epoch[key] for epoch in clf.history_]


def batches(clf, key="reg_loss"):
    return [b[key] for epoch in clf.history_ for b in epoch["batches"]]


# -- L2-SP: the formula -----------------------------------------------------------


def test_l2sp_is_the_papers_formula():
    rng = np.random.RandomState(0)
    w, w0 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    b, b0 = rng.normal(size=3), rng.normal(size=3)
    head = rng.normal(size=(2, 3))
    params = {
        "w": (nn.Parameter(torch.tensor(w)), torch.tensor(w0)),
        "b": (nn.Parameter(torch.tensor(b)), torch.tensor(b0)),
    }
    fresh = {"head": nn.Parameter(torch.tensor(head))}
    got = L2SP(alpha=0.3, beta=0.07).penalty(step(params, fresh))
    by_hand = 0.3 / 2 * (((w - w0) ** 2).sum() + ((b - b0) ** 2).sum())
    by_hand += 0.07 / 2 * (head**2).sum()
    assert got.item() == pytest.approx(by_hand, rel=1e-12)
    # Its gradient pulls towards the start, and the fresh ones towards zero.
    got.backward()
    np.testing.assert_allclose(params["w"][0].grad, 0.3 * (w - w0), rtol=1e-12)
    np.testing.assert_allclose(fresh["head"].grad, 0.07 * head, rtol=1e-12)


def test_l2sp_terms_with_zero_weight_or_nothing_to_weigh_are_zero():
    w = nn.Parameter(torch.ones(3))
    assert L2SP(alpha=0.0, beta=0.0).penalty(step({"w": (w, torch.zeros(3))})) == 0
    assert L2SP().penalty(step()) == 0  # no trainable parameter at all
    at_start = L2SP(alpha=5.0, beta=0.0).penalty(step({"w": (w, w.detach().clone())}))
    assert at_start == 0


# -- L2-SP in training: which parameters ---------------------------------------------


@pytest.fixture(scope="module")
def new_ends():
    """A network whose first layer (other input) and head (other classes) are
    fresh, the middle transferred; the first layer frozen."""
    X, y = table(n=40, n_features=6, n_classes=3)
    target = three_layers(n_in=6, n_out=3)
    return (
        X,
        y,
        dict(module=target, source=three_layers(), freeze_depth=1, batch_size=40),
    )


@pytest.mark.filterwarnings("ignore:fit re-initialised")
def test_l2sp_weighs_the_fresh_trainable_parameters_by_beta_only(new_ends):
    X, y, params = new_ends
    # lr=0: nothing moves, so the penalty of every step is that of the start.
    clf = TransferClassifier(
        regularization=L2SP(alpha=10.0, beta=0.1), lr=0.0, max_epochs=2, **params
    ).fit(X, y)
    report = clf.transfer_report_.set_index("parameter")
    assert report.loc["0.weight", "status"] == "fresh"  # fresh but frozen
    assert not report.loc["0.weight", "trainable"]
    assert report.loc["2.weight", "status"] == "transferred"
    head = clf.module_[4]
    by_hand = 0.1 / 2 * (head.weight.pow(2).sum() + head.bias.pow(2).sum()).item()
    assert batches(clf) == pytest.approx([by_hand, by_hand], rel=1e-6)
    setup = clf.net_.regularization
    assert setup.transferred == ("2.weight", "2.bias")
    assert setup.fresh == ("4.weight", "4.bias")  # the frozen 0.* in neither


@pytest.mark.filterwarnings("ignore:fit re-initialised")
def test_l2sp_is_zero_at_the_start_and_grows_with_the_distance_travelled(new_ends):
    X, y, params = new_ends
    clf = TransferClassifier(
        regularization=L2SP(alpha=0.5, beta=0.0),
        optimizer=torch.optim.SGD,
        lr=0.5,
        max_epochs=1,
        **params,
    ).fit(X, y)
    assert batches(clf) == [0.0]  # transferred weights at the source's
    moved = clf.module_[2]
    source = three_layers()[2]
    w1 = [moved.weight.detach(), moved.bias.detach()]
    w0 = [source.weight.detach(), source.bias.detach()]
    by_hand = 0.5 / 2 * sum((a - b).pow(2).sum() for a, b in zip(w1, w0, strict=True))
    assert by_hand > 0
    # One more epoch: the penalty is measured from the source's weights still.
    clf.net_.partial_fit(X, clf._label_encoder.transform(y))
    assert clf.net_.history[-1, "batches", 0, "reg_loss"] == pytest.approx(
        by_hand.item(), rel=1e-5
    )


def test_l2sp_keeps_the_network_closer_to_the_source():
    X, y = table(n=80)
    source = three_layers()
    common = dict(source=source, lr=0.05, max_epochs=15, batch_size=20, random_state=0)
    plain = TransferClassifier(**common).fit(X, y)
    held = TransferClassifier(regularization=L2SP(alpha=10.0), **common).fit(X, y)

    def distance(clf):
        return sum(
            (p - q).pow(2).sum().item()
            for p, q in zip(clf.module_.parameters(), source.parameters(), strict=True)
        )

    assert distance(held) < 0.5 * distance(plain)


# -- BSS: the formula -----------------------------------------------------------------


def known_matrix(singular_values, n_rows=6, n_cols=5, seed=0):
    rng = np.random.RandomState(seed)
    u, _ = np.linalg.qr(rng.normal(size=(n_rows, n_rows)))
    v, _ = np.linalg.qr(rng.normal(size=(n_cols, n_cols)))
    s = np.zeros((n_rows, n_cols))
    np.fill_diagonal(s, singular_values)
    return u @ s @ v.T, u, v


@pytest.mark.parametrize(
    "k, expected", [(1, 0.25), (2, 0.25 + 1), (9, 25 + 16 + 9 + 1 + 0.25)]
)
def test_bss_is_the_sum_of_the_k_smallest_squared_singular_values(k, expected):
    matrix, _, _ = known_matrix([5.0, 4.0, 3.0, 1.0, 0.5])
    features = torch.tensor(matrix, dtype=torch.float32)
    got = BSS(eta=0.2, k=k).penalty(step(features={-2: features}))
    # k beyond the number of singular values: all of them.
    assert got.item() == pytest.approx(0.2 * expected, rel=1e-5)


def test_bss_flattens_the_features_of_each_row():
    matrix, _, _ = known_matrix([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], n_cols=6)
    cube = torch.tensor(matrix, dtype=torch.float32).reshape(6, 3, 2, 1)
    got = BSS(eta=1.0, layer="conv").penalty(step(features={"conv": cube}))
    assert got.item() == pytest.approx(0.25, rel=1e-5)


def test_bss_gradient_shrinks_the_smallest_direction():
    matrix, u, v = known_matrix([5.0, 4.0, 3.0, 1.0, 0.5])
    features = torch.tensor(matrix, requires_grad=True)
    BSS(eta=1.0, k=1).penalty(step(features={-2: features})).backward()
    # d(sigma_min^2)/dF = 2 sigma_min u_min v_min^T
    expected = 2 * 0.5 * np.outer(u[:, 4], v[:, 4])
    np.testing.assert_allclose(features.grad.numpy(), expected, atol=1e-10)


# -- Compose --------------------------------------------------------------------------


def test_compose_adds_the_penalties_and_names_its_steps():
    matrix, _, _ = known_matrix([5.0, 4.0, 3.0, 1.0, 0.5])
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    s = step(
        {"w": (w, torch.zeros(2))},
        features={-2: torch.tensor(matrix, dtype=torch.float32), "fc": torch.eye(3)},
    )
    both = Compose([L2SP(alpha=1.0), BSS(eta=1.0), BSS(eta=2.0, layer="fc")])
    assert [name for name, _ in both.named_steps()] == ["l2sp", "bss-1", "bss-2"]
    assert both.layers() == {"bss-1__layer": -2, "bss-2__layer": "fc"}
    total = both.penalty(s).item()
    assert total == pytest.approx(2.5 + 0.25 + 2.0, rel=1e-5)


def test_compose_routes_nested_parameters():
    both = Compose([L2SP(), BSS()])
    both.set_params(l2sp__alpha=0.5, bss=BSS(k=3))
    assert both.steps[0].alpha == 0.5
    assert both.get_params()["bss__k"] == 3
    with pytest.raises(ValueError, match="steps are"):
        both.set_params(nope__alpha=1.0)


# -- training with a penalty, in every strategy -----------------------------------


def test_every_strategy_records_the_penalty(small_lenet):
    rng = np.random.RandomState(0)
    X = rng.rand(32, 1, 28, 28).astype(np.float32)
    y = np.arange(32) % 2
    both = Compose([L2SP(alpha=1.0), BSS(eta=0.01)])
    common = dict(regularization=both, max_epochs=2, batch_size=16, random_state=0)
    fits = {
        "fine_tune": TransferClassifier(source=small_lenet, **common),
        "frozen_prefix": TransferClassifier(
            source=small_lenet, freeze_depth=2, **common
        ),
        "across_domains": TransferClassifier(
            source=Source(weights=small_lenet, X=X[::-1].copy(), y=y),
            freeze_depth=2,
            **common,
        ),
    }
    for strategy, clf in fits.items():
        clf.fit(X, y)
        assert clf.training_strategy_ == strategy
        values = batches(clf)
        assert len(values) == 4 and all(np.isfinite(values)), strategy
        assert all(v > 0 for v in values), strategy  # BSS is never 0 here
        assert len(history(clf)) == 2
    assert fits["frozen_prefix"].cached_prefix_ == "fc1"


def test_bss_on_a_cached_prefix_trains_the_same_network(small_lenet):
    rng = np.random.RandomState(1)
    X = rng.rand(32, 1, 28, 28).astype(np.float32)
    y = np.arange(32) % 2
    params = dict(
        source=small_lenet,
        freeze_depth=2,
        regularization=BSS(eta=0.1),
        max_epochs=3,
        batch_size=16,
        random_state=0,
    )
    cached = TransferClassifier(**params).fit(X, y)
    plain = TransferClassifier(cache_frozen=False, **params).fit(X, y)
    assert (cached.training_strategy_, plain.training_strategy_) == (
        "frozen_prefix",
        "fine_tune",
    )
    np.testing.assert_allclose(batches(cached), batches(plain), rtol=1e-4)
    np.testing.assert_allclose(
        cached.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-5
    )


def test_bss_inside_the_frozen_prefix_trains_the_whole_network(small_lenet):
    rng = np.random.RandomState(2)
    X = rng.rand(16, 1, 28, 28).astype(np.float32)
    y = np.arange(16) % 2
    clf = TransferClassifier(
        source=small_lenet,
        freeze_depth=2,
        regularization=BSS(layer="conv2"),  # computed once, were it cut
        max_epochs=1,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    assert clf.training_strategy_ == "fine_tune"
    assert batches(clf)[0] >= 0

    class Training:  # what why_not reads, the prefix rules before it holding
        net_params = {"max_epochs": 1, "train_split": None}
        cache_frozen, augment, source_data, max_epochs = True, None, None, 1
        task, net_mixins, regularization = "classifier", (), BSS(layer="conv2")

    source = resolve_source(small_lenet)
    prepared = prepare(source, X, 2, default_module=LeNet, freeze_depth=2)
    assert why_not(FrozenPrefix, prepared, Training(), 16) == (
        "the regularization's layers come after the frozen prefix"
    )


def test_a_zero_penalty_trains_the_very_same_network(small_lenet):
    rng = np.random.RandomState(3)
    X = rng.rand(32, 1, 28, 28).astype(np.float32)
    y = np.arange(32) % 2
    common = dict(source=small_lenet, max_epochs=2, batch_size=16, random_state=0)
    plain = TransferClassifier(**common).fit(X, y)
    assert "reg_loss" not in plain.history_[-1]
    zero = Compose([L2SP(alpha=0.0, beta=0.0), BSS(eta=0.0)])
    same = TransferClassifier(regularization=zero, **common).fit(X, y)
    assert batches(same) == [0.0] * 4
    np.testing.assert_array_equal(same.predict_proba(X), plain.predict_proba(X))
    assert history(same, "train_loss") == history(plain, "train_loss")


def test_regressor_and_bfloat16_training_take_a_penalty():
    X, _ = table(n=40)
    reg = TransferRegressor(
        source=three_layers(n_out=1),
        regularization=Compose([L2SP(alpha=1.0), BSS()]),
        max_epochs=2,
        random_state=0,
    ).fit(X, X[:, 0])
    assert len(history(reg)) == 2 and np.isfinite(history(reg)).all()
    X, y = table(n=40)
    low = TransferClassifier(
        source=three_layers(),
        regularization=BSS(eta=1.0),
        precision="bfloat16",
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    assert np.isfinite(batches(low)).all()


def test_a_fitted_regularised_model_pickles():
    X, y = table()
    clf = TransferClassifier(
        source=three_layers(), regularization=L2SP(), max_epochs=1, random_state=0
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# -- parameters -------------------------------------------------------------------


def test_nested_parameters_survive_clone_and_grid_search():
    clf = TransferClassifier(regularization=Compose([L2SP(), BSS()]))
    clf.set_params(regularization__l2sp__alpha=0.5, regularization__bss__k=2)
    params = clone(clf).get_params()
    assert params["regularization__l2sp__alpha"] == 0.5
    assert params["regularization__bss__k"] == 2
    assert clone(clf).regularization is not clf.regularization  # a copy per clone

    X, y = table(n=40)
    search = GridSearchCV(
        TransferClassifier(
            source=three_layers(), regularization=L2SP(), max_epochs=2, random_state=0
        ),
        {"regularization__alpha": [0.0, 1.0]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["regularization__alpha"] in (0.0, 1.0)
    assert search.best_estimator_.regularization.alpha in (0.0, 1.0)


@pytest.mark.parametrize(
    "regularization, match",
    [
        ("l2sp", r"^regularization must be an sktransfer\.regularization"),
        (L2SP(alpha=-1.0), r"^regularization__alpha must be"),
        (L2SP(beta=float("nan")), r"^regularization__beta must be"),
        (BSS(k=0), r"^regularization__k must be an int >= 1"),
        (BSS(eta="big"), r"^regularization__eta must be"),
        (BSS(layer=True), r"^regularization__layer must be"),
        (BSS(layer=99), r"^regularization__layer: layer=99 is out of range"),
        (BSS(layer="nope"), r"^regularization__layer: layer='nope' is not a module"),
        (Compose([L2SP(), BSS(k=-1)]), r"^regularization__bss__k must be"),
        (Compose([]), r"^regularization__steps must be a non-empty list"),
        (Compose([L2SP(), "bss"]), r"^regularization__steps must be"),
        (Compose(L2SP()), r"^regularization__steps must be"),
    ],
)
def test_bad_settings_are_refused_by_name(regularization, match):
    X, y = table()
    clf = TransferClassifier(regularization=regularization, max_epochs=1)
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        clf.fit(X, y)


def test_a_mixin_replacing_the_training_step_is_refused():
    class OwnStep:
        def train_step_single(self, batch, **fit_params):  # pragma: no cover
            raise AssertionError("never reached")

    X, y = table()
    clf = TransferClassifier(regularization=L2SP(), net_mixins=OwnStep, max_epochs=1)
    with pytest.raises(ValueError, match="regularization's penalty"):
        clf.fit(X, y)


def test_a_penalty_must_implement_penalty():
    class Nothing(Regularization):
        pass

    X, y = table()
    clf = TransferClassifier(regularization=Nothing(), max_epochs=1)
    with pytest.raises(NotImplementedError, match="Nothing does not implement"):
        clf.fit(X, y)
