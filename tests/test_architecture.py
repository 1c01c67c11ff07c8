"""The shape of every fit: prepare the network, then one training strategy.

These tests pin what the architecture promises: a loss that needs logits (or
a teacher) is one small class, the strategy is chosen by one table of rules,
and each skorch net is configured through its constructor.
"""

import ast
import copy
import inspect
import pickle
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, EpochScoring
from skorch.dataset import ValidSplit

from sktransfer import (
    Source,
    TransferClassifier,
    TransferRegressor,
    adaptation,
    information_maximization_score,
)
from sktransfer._supervised import NetworkEstimator
from sktransfer._training import RULES, FrozenPrefix, why_not
from sktransfer.adaptation import DANN, SHOT, AdaptationLoss
from sktransfer.adaptation.objective import LossNeeds
from sktransfer.augmentation import RandomAffine
from sktransfer.models import LeNet
from sktransfer.regularization import BSS

SMALL = dict(module__channels=(4, 8), module__hidden_units=16)


def blobs(n=200, seed=0):
    rng = np.random.RandomState(seed)
    ys, yt = rng.randint(2, size=n), rng.randint(2, size=n)
    Xs, Xt = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
    Xs[:, 0] += 3.0 * ys
    Xt[:, 0] += 3.0 * yt
    Xt[:, 1:] = 2.0 * Xt[:, 1:] + 2.0
    return Xs.astype(np.float32), ys, Xt.astype(np.float32), yt


class TargetEntropy(AdaptationLoss):
    """Mean entropy of the target predictions, from the logits (no features)."""

    def __init__(self, layer=None):
        self.layer = layer

    def batch_loss(self, batch):
        proba = batch.logits_target.softmax(dim=1)
        return -(proba * proba.clamp_min(1e-8).log()).sum(dim=1).mean()


def test_a_loss_on_logits_trains_with_no_library_change():
    Xs, ys, Xt, _ = blobs()
    common = dict(source=Source(X=Xs, y=ys), max_epochs=15, random_state=0)
    y = np.full(len(Xt), -1)
    plain = TransferClassifier(**common).fit(Xt, y)
    sharp = TransferClassifier(adaptation=TargetEntropy(), **common).fit(Xt, y)
    assert sharp.training_strategy_ == "across_domains"
    assert sharp.net_.history[-1, "adapt_loss"] < sharp.net_.history[0, "adapt_loss"]

    def entropy(clf):
        p = clf.predict_proba(Xt)
        return float(-(p * np.log(np.clip(p, 1e-12, None))).sum(1).mean())

    assert entropy(sharp) < entropy(plain)


def test_what_a_loss_needs_is_declared_once_on_its_class():
    # The training reads one LossNeeds, made from the class's declarations
    # (class variables, the methods it overrides): a new loss on the logits
    # declares nothing and needs nothing but the logits.
    assert LossNeeds.of(TargetEntropy()) == LossNeeds(source_rows=True)
    assert LossNeeds.of(None) == LossNeeds()
    assert LossNeeds.of(DANN()) == LossNeeds(
        source_rows=True, layer=-2, features=True, parts=True
    )
    assert LossNeeds.of(SHOT()) == LossNeeds(
        layer=-1, layer_input=True, class_probabilities=True, parts=True,
        target_pass=True,
    )  # fmt: skip
    assert LossNeeds.of(adaptation.MeanTeacher()) == LossNeeds(
        class_probabilities=True, parts=True
    )


def test_the_losss_parts_are_adaptation_parts_and_critic_is_deprecated():
    Xs, ys, Xt, _ = blobs(n=60)
    clf = TransferClassifier(
        source=Source(X=Xs, y=ys), adaptation=DANN(), max_epochs=1, random_state=0
    ).fit(Xt, np.full(len(Xt), -1))
    parts = clf.net_.adaptation_parts_
    assert isinstance(parts, torch.nn.Module)
    with pytest.warns(FutureWarning, match="renamed adaptation_parts_"):
        assert clf.net_.critic_ is parts
    with pytest.raises(AttributeError):
        clf.net_.critic_ = None  # read-only
    # A net pickled before the rename holds them as critic_: loaded, they are
    # adaptation_parts_ again.
    net = copy.deepcopy(clf.net_)
    state = vars(net)
    state["critic_"] = state.pop("adaptation_parts_")
    for name in ("prefixes_", "_modules"):
        state[name] = ["critic" if n == "adaptation_parts" else n for n in state[name]]
    old = ["critic_" if n == "adaptation_parts_" else n
           for n in state["cuda_dependent_attributes_"]]  # fmt: skip
    state["cuda_dependent_attributes_"] = old
    loaded = pickle.loads(pickle.dumps(net))
    assert "critic_" not in vars(loaded)
    assert "adaptation_parts" in loaded.prefixes_ and "critic" not in loaded.prefixes_
    for a, b in zip(
        loaded.adaptation_parts_.parameters(), parts.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_fit_reads_top_to_bottom_and_sets_its_attributes_in_one_place():
    source = inspect.getsource(NetworkEstimator.fit)
    fit = ast.parse(textwrap.dedent(source)).body[0]
    assert fit.end_lineno - fit.body[1].lineno + 1 <= 40  # after the docstring
    Xs, ys, Xt, _ = blobs(n=60)
    start = TransferClassifier(max_epochs=1, random_state=0).fit(Xs, ys)
    written = []

    def recording(self, name, value):
        caller = sys._getframe(1).f_code
        if "sktransfer" in caller.co_filename:  # scikit-learn's are undone
            written.append((caller.co_name, name))
        object.__setattr__(self, name, value)

    clf = TransferClassifier(source=start, adaptation=SHOT(), max_epochs=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransferClassifier, "__setattr__", recording, raising=False)
        clf.fit(Xt, np.full(len(Xt), -1))
        before = dict(vars(clf))
        # A fit failing after its data were validated (nothing to train on:
        # the source-free strategy's own check) leaves the last fit's state.
        with pytest.raises(ValueError, match="adaptation_weight=0 leaves nothing"):
            clf.set_params(adaptation_weight=0).fit(Xt[:30], np.full(30, -1))
    assert clf.training_strategy_ == "source_free"
    assert {where for where, name in written} == {"_set_fitted"}
    fitted = {name for _, name in written}
    assert {k for k in vars(clf) if k.endswith("_")} <= fitted
    assert {"net_", "classes_", "n_features_in_", "_label_encoder"} <= fitted
    assert {k: v for k, v in vars(clf).items() if k != "adaptation_weight"} == {
        k: v for k, v in before.items() if k != "adaptation_weight"
    }


class MeanTeacher(AdaptationLoss):
    """Consistency with an EMA teacher: the room the batch leaves for one."""

    def __init__(self, layer=None, decay=0.9):
        self.layer = layer
        self.decay = decay

    def build_for(self, network, n_features):
        teacher = copy.deepcopy(network)
        for param in teacher.parameters():
            param.requires_grad_(False)  # not trained by the optimizer
        return teacher

    def batch_loss(self, batch):
        with torch.no_grad():
            target = batch.parts.eval()(batch.X_target).softmax(dim=1)
        return (batch.logits_target.softmax(dim=1) - target).pow(2).sum(1).mean()

    def after_step(self, batch):
        with torch.no_grad():
            pairs = zip(
                batch.parts.parameters(), batch.network.parameters(), strict=True
            )
            for t, s in pairs:
                t.mul_(self.decay).add_(s, alpha=1 - self.decay)


def test_a_teacher_kept_by_the_loss_follows_the_student():
    Xs, ys, Xt, _ = blobs(n=120)
    start = TransferClassifier(max_epochs=2, random_state=0).fit(Xs, ys)
    clf = TransferClassifier(
        source=Source(weights=start, X=Xs, y=ys),
        adaptation=MeanTeacher(),
        max_epochs=3,
        random_state=0,
    ).fit(Xt, np.full(len(Xt), -1))
    teacher, student = clf.net_.adaptation_parts_, clf.module_
    before = start.module_.state_dict()
    # Not trained by the optimizer, but moved: an EMA between start and student.
    assert not any(p.requires_grad for p in teacher.parameters())
    for name, t in teacher.state_dict().items():
        if name.endswith("weight"):
            assert not torch.equal(t, before[name])
            assert not torch.equal(t, student.state_dict()[name])
    assert clf.net_.history[-1, "adapt_loss"] >= 0


def fit_strategy(X, y, **params):
    clf = TransferClassifier(**({"max_epochs": 1, "random_state": 0} | params))
    return clf.fit(X, y)


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(freeze_depth=2), "frozen_prefix"),
        (dict(freeze_depth=0), "fine_tune"),
        (dict(freeze_depth=2, cache_frozen=False), "fine_tune"),
        (dict(freeze_depth=2, augment=RandomAffine(degrees=5)), "fine_tune"),
        (dict(freeze_depth=2, train_split=ValidSplit(4)), "fine_tune"),
        (
            dict(
                freeze_depth=2,
                callbacks=[EpochScoring("accuracy", on_train=True, use_caching=False)],
            ),
            "fine_tune",
        ),
        (dict(freeze_depth=2, max_epochs=0), "fine_tune"),
    ],
    ids=["prefix", "no-freeze", "off", "augment", "valid", "scoring", "no-epochs"],
)
def test_one_table_chooses_the_strategy(params, expected, digits, lenet_source):
    X, y = digits
    clf = fit_strategy(X, y, source=lenet_source, **params)
    assert clf.training_strategy_ == expected
    assert (clf.cached_prefix_ is not None) == (expected == "frozen_prefix")
    Xs = np.random.RandomState(1).rand(20, 1, 28, 28).astype(np.float32)
    domains = fit_strategy(
        X, y, source=Source(weights=lenet_source, X=Xs, y=np.arange(20) % 2),
        freeze_depth=2,
    )  # fmt: skip
    assert domains.training_strategy_ == "across_domains"


def test_rules_read_as_a_table_and_say_why_not():
    names = [strategy.__name__ for strategy, _ in RULES]
    assert names == ["AcrossDomains", "SourceFree", "FrozenPrefix", "FineTune"]
    assert dict(RULES)[RULES[-1][0]] == ()  # the last rule always holds

    class Training:
        net_params = {"max_epochs": 1, "train_split": None}
        cache_frozen, augment, source_data, max_epochs = True, "flip", None, 1

    reason = why_not(FrozenPrefix, None, Training(), 10)
    assert reason.startswith("no augment")


def test_nets_are_configured_through_their_constructor(digits, lenet_source):
    # Nothing is set on a skorch net from outside: everything a net needs is
    # one of its parameters, so skorch's own get_params reports it.
    X, y = digits
    augment = RandomAffine(degrees=5)
    clf = fit_strategy(X, y, source=lenet_source, freeze_depth=1, augment=augment)
    params = clf.net_.get_params(deep=False)
    assert params["frozen_norms"] == ("bn1",)
    assert params["augment"] is augment
    prefix = fit_strategy(X, y, source=lenet_source, freeze_depth=2)
    assert prefix.net_.get_params(deep=False)["frozen_norms"] == ("bn1", "bn2")
    assert prefix.net_.rest is None  # released when the fit ended
    with pytest.raises(ValueError, match="module__"):
        fit_strategy(X, y, source=lenet_source, **SMALL)  # would be ignored
    Xs, ys, Xt, _ = blobs(n=60)
    across = TransferClassifier(source=Source(X=Xs, y=ys), max_epochs=1).fit(Xt, ys)
    setup = across.net_.get_params(deep=False)["domain"]
    assert setup.target_weight == 1.0
    # The source rows were one of its parameters, released when the fit ended.
    assert across.net_.get_params(deep=False)["iterator_train__source"] is None


def test_regressor_shares_the_classifier_parameters():
    shared = set(TransferClassifier().get_params()) - {"classes", "unlabelled"}
    assert shared == set(TransferRegressor().get_params())


def test_source_keeps_itself_through_clone_anywhere():
    Xs, ys, Xt, yt = blobs(n=60)
    source = Source(X=Xs, y=ys)
    assert clone(source) is source
    pipe = make_pipeline(StandardScaler(), TransferClassifier(source=source))
    assert clone(pipe)[-1].source is source
    fitted = TransferClassifier(max_epochs=1).fit(Xs, ys)
    wrapped = Source(weights=fitted, X=Xs, y=ys)
    assert clone(wrapped).weights is fitted  # still fitted, not a fresh clone


def test_label_free_scores_live_with_the_metrics():
    from sktransfer import metrics

    assert metrics.information_maximization_score is information_maximization_score


class FirstLayerInputs(Callback):
    """Records, for each training forward pass, whether the first layer's
    input requires grad."""

    def initialize(self):
        self.requires_grad = []
        return self

    def on_train_begin(self, net, **kwargs):
        record = self.requires_grad.append
        self.handle = net.module_.conv1.register_forward_pre_hook(
            lambda module, args: (
                record(args[0].requires_grad) if module.training else None
            )
        )

    def on_train_end(self, net, **kwargs):
        self.handle.remove()


def test_input_batches_never_require_grad(digits):
    # The gradient a loss reverses (DANN) or a penalty reads stays on the
    # network's side: a batch reaching the first layer is data, never a
    # leaf of the graph (torch.compile would also guard on it).
    X, y = digits
    Xs = np.random.RandomState(1).rand(40, 1, 28, 28).astype(np.float32)
    probe = FirstLayerInputs()
    TransferClassifier(
        LeNet,
        source=Source(X=Xs, y=np.arange(40) % 2),
        adaptation=DANN(),
        augment=RandomAffine(degrees=5),
        callbacks=[("inputs", probe)],
        max_epochs=2,
        batch_size=16,
        random_state=0,
    ).fit(X, np.full(len(X), -1))
    assert len(probe.requires_grad) == 2 * 3  # 2 epochs of ceil(48 / 16) steps
    assert not any(probe.requires_grad)


def test_layer_hooks_are_registered_once_per_fit(digits, monkeypatch):
    # The layers a step reads (DANN's features, BSS's penalty) are tapped by
    # hooks placed when the fit loop starts, not at every step, and removed
    # when it ends.
    X, y = digits
    Xs = np.random.RandomState(1).rand(40, 1, 28, 28).astype(np.float32)
    placed = []
    register = torch.nn.Module.register_forward_hook

    def counting(module, hook, *args, **kwargs):
        placed.append(type(hook).__name__)
        return register(module, hook, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "register_forward_hook", counting)

    def hooks_placed(epochs):
        placed.clear()
        clf = TransferClassifier(
            LeNet,
            source=Source(X=Xs, y=np.arange(40) % 2),
            adaptation=DANN(),
            regularization=BSS(),
            max_epochs=epochs,
            batch_size=16,
            random_state=0,
        ).fit(X, np.full(len(X), -1))
        assert all(not m._forward_hooks for m in clf.module_.modules())
        assert np.isfinite(clf.history_[:, "reg_loss"]).all()
        return list(placed)

    once = hooks_placed(1)
    assert once.count("_Hook") == 1  # one tap on fc1's output, DANN's and BSS's
    assert hooks_placed(3) == once  # 9 steps, not 3: the same hooks
