"""Property-based checks of parameter and array validation (issue 26).

Random shapes, dtypes, NaN/inf placements, magnitudes and label spellings go
into the public metrics and estimators. Every draw either works (and a score
is then a finite number) or raises the library's own clear error: a
``ValueError`` or ``TypeError`` (or one of sktransfer's exceptions) raised
in sktransfer's or scikit-learn's code, not an internal error of numpy or
torch. ``derandomize=True`` and fixed ``max_examples`` keep the run the same
on every machine and under a minute in all.
"""

from __future__ import annotations

import math
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sktransfer import (  # noqa: E402
    FeatureTransferTransformer,
    ImageMapping,
    Source,
    TransferClassifier,
    TransferRegressor,
)
from sktransfer.adaptation import (  # noqa: E402
    CDAN,
    DANN,
    MCC,
    MMD,
    SHOT,
    DeepCORAL,
    InformationMaximization,
    MeanTeacher,
)
from sktransfer.metrics import (  # noqa: E402
    coral_distance,
    h_score,
    leep,
    log_me,
    mmd,
    mutual_information,
    nce,
    neg_entropy,
    soft_neighborhood_density,
)


def budget(max_examples: int) -> settings:
    """A fixed number of draws, the same ones on every run (no database)."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: Messages of numpy's or Python's own that mean validation was skipped.
INTERNAL = (
    "setting an array element with a sequence",
    "unhashable type",
    "has no attribute",
    "object is not iterable",
    "not supported between instances",
    "only integer scalar arrays",
    "index out of bounds",
    "out of bounds for axis",
)
CLEAR_ORIGINS = ("sktransfer", "sklearn")


def _origin(exc: BaseException) -> str:
    parts = Path(traceback.extract_tb(exc.__traceback__)[-1].filename).parts
    for name in ("sktransfer", "sklearn", "skorch", "torch", "numpy", "scipy"):
        if name in parts:
            return name
    return parts[-1]


def works_or_says_why(call, *, finite: bool = False):
    """Run ``call``: its result (finite when ``finite``), or ``None`` when it
    raised a clear error; fail on any other outcome."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = call()
        except Exception as exc:
            kind = type(exc)
            ours = kind.__module__.startswith("sktransfer")
            message = str(exc)
            assert ours or issubclass(kind, ValueError | TypeError), (
                f"{kind.__name__} from {_origin(exc)}: {message}"
            )
            assert _origin(exc) in CLEAR_ORIGINS, (
                f"{kind.__name__} raised inside {_origin(exc)}: {message}"
            )
            # Quoted in a message of the library's own (raise ... from) is fine.
            if exc.__cause__ is None:
                assert not any(text in message for text in INTERNAL), message
            event("refused")
            return None
    event("worked")
    if finite:
        assert isinstance(result, float) and math.isfinite(result), result
    return result


# -- what is drawn -----------------------------------------------------------------

# Repeated entries make the well-formed draws the common ones: each defect
# (a NaN, a wrong dtype or shape, a bad label) is drawn now and then.
NON_FINITE = st.sampled_from([None] * 5 + [np.nan, np.inf, -np.inf])
MAGNITUDES = st.sampled_from([1.0, 1.0, 1.0, 1e-150, 1e150, 1e300])
KINDS = st.sampled_from(
    ["float64"] * 4
    + ["float32"] * 2
    + ["int64", "bool", "object", "str", "list", "1-D", "3-D"]
)
ROWS = (12, 12, 12, 8, 5, 2, 1, 0)  # the first entry: what shrinking aims at
COLS = (3, 3, 4, 2, 1, 0)


@st.composite
def matrices(draw, rows=ROWS, cols=COLS):
    """A feature matrix in one of many spellings, possibly non-finite."""
    n = draw(st.sampled_from(rows))
    d = draw(st.sampled_from(cols))
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).normal(size=(n, d)) * draw(MAGNITUDES)
    bad = draw(NON_FINITE)
    if bad is not None and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = bad
    kind = draw(KINDS)
    if kind in ("float64", "float32"):
        with np.errstate(over="ignore"):
            return values.astype(kind)
    if kind == "int64":
        return np.nan_to_num(values).clip(-1e6, 1e6).astype(np.int64)
    if kind == "bool":
        return values > 0
    if kind == "object":
        return values.astype(object)
    if kind == "str":
        return values.astype(str)
    if kind == "list":
        return values.tolist()
    if kind == "1-D":
        return values.ravel()
    return values.reshape(n, d, 1)


LABEL_SPELLINGS = st.sampled_from(
    ["int"] * 4 + ["str"] * 2
    + ["mixed", "float", "float-nan", "bool", "one class", "marker", "object",
       "2-D", "short", "list"]
)  # fmt: skip


@st.composite
def labels(draw, n: int):
    """Labels for ``n`` rows in one of many spellings."""
    spelling = draw(LABEL_SPELLINGS)
    codes = np.arange(n) % draw(st.integers(2, 3))
    if spelling == "int":
        return codes
    if spelling == "str":
        return np.array(["cat", "dog", "emu"])[codes]
    if spelling == "mixed":
        return [("cat" if c else 1) for c in codes]
    if spelling == "float":
        return codes + 0.5
    if spelling == "float-nan":
        y = codes.astype(float)
        if n:
            y[0] = np.nan
        return y
    if spelling == "bool":
        return codes > 0
    if spelling == "one class":
        return np.zeros(n, dtype=int)
    if spelling == "marker":
        return np.where(codes == 0, -1, codes)
    if spelling == "object":
        return codes.astype(object)
    if spelling == "2-D":
        return codes.reshape(-1, 1)
    if spelling == "short":
        return codes[:-1]
    return codes.tolist()


def _proba(X):
    """Rows of probabilities built from ``X`` when it is numeric and 2-D (else
    ``X`` as it is): the softmax, or the raw values (not summing to 1)."""
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return X
    if values.ndim != 2 or not values.size:
        return X
    with np.errstate(invalid="ignore", over="ignore"):
        return np.exp(values - values.max(axis=1, keepdims=True))


# -- metrics -----------------------------------------------------------------------


@budget(300)
@given(st.data())
def test_feature_scores_work_or_say_why(data):
    X = data.draw(matrices())
    n = len(X) if hasattr(X, "__len__") else 0
    y = data.draw(labels(n))
    for score in (log_me, h_score):
        works_or_says_why(lambda: score(X, y), finite=True)  # noqa: B023


@budget(200)
@given(st.data())
def test_prediction_scores_work_or_say_why(data):
    X = data.draw(matrices())
    normalise = data.draw(st.booleans())
    proba = _proba(X)
    if (
        normalise
        and isinstance(proba, np.ndarray)
        and proba.dtype.kind == "f"
        and proba.ndim == 2
    ):
        with np.errstate(invalid="ignore"):
            proba = proba / proba.sum(axis=1, keepdims=True)
    n = len(X) if hasattr(X, "__len__") else 0
    y = data.draw(labels(n))
    z = data.draw(labels(n))
    works_or_says_why(lambda: leep(proba, y), finite=True)
    works_or_says_why(lambda: nce(z, y), finite=True)
    for score in (mutual_information, neg_entropy, soft_neighborhood_density):
        works_or_says_why(lambda: score(proba), finite=True)  # noqa: B023


@budget(200)
@given(st.data())
def test_domain_gaps_work_or_say_why(data):
    X_source = data.draw(matrices())
    width = np.shape(X_source)[1:2] or (0,)
    # Mostly the source's width, so that the checks past it are reached.
    X_target = data.draw(matrices(cols=width * 4 + COLS))
    for gap in (mmd, coral_distance):
        works_or_says_why(lambda: gap(X_source, X_target), finite=True)  # noqa: B023


# -- estimators ----------------------------------------------------------------------

RNG = np.random.RandomState(0)
X_SMALL = RNG.normal(size=(12, 3)).astype(np.float32)
Y_SMALL = np.arange(12) % 2

#: Parameter values of every kind: the right one, the wrong types, the edges.
ODD_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 2, 0.5, -0.5, 1.5, 0.0]),
    st.sampled_from([float("nan"), float("inf"), "1", "auto", "", [1], (1, 2)]),
    st.sampled_from([np.int64(1), np.float32(0.1), {}, object()]),
)
CLASSIFIER_PARAMS = st.sampled_from(
    ["freeze_depth", "lr", "transferred_lr", "max_epochs", "batch_size",
     "target_weight", "adaptation_weight", "cache_frozen", "memory_format",
     "transfer", "unlabelled", "classes", "verbose", "random_state", "precision",
     "device", "augment", "callbacks", "train_split", "module__hidden_units",
     "module__dropout", "optimizer__weight_decay", "iterator_train__shuffle"]
)  # fmt: skip


#: Values each parameter takes, drawn as often as the odd ones.
CLASSIFIER_VALID = {
    "freeze_depth": [0, 1, -1, "layers.1"],
    "lr": [1e-3, 0.1],
    "transferred_lr": [None, 1e-4],
    "max_epochs": [0, 1, 2],
    "batch_size": [1, 5, 64],
    "target_weight": [0.0, 2.0],
    "adaptation_weight": ["auto"],
    "cache_frozen": ["auto", False],
    "memory_format": ["auto", "contiguous"],
    "transfer": ["weights", "structure"],
    "unlabelled": [-1, None, "?"],
    "classes": [None, [0, 1], [1, 0, 2]],
    "verbose": [0, False, "auto"],
    "random_state": [None, 0, np.random.RandomState(1)],
    "precision": ["float32", "bfloat16"],
    "device": ["cpu", "auto"],
    "augment": [None, lambda batch: batch * 1.5],
    "callbacks": [None, []],
    "train_split": [None],
    "module__hidden_units": [(4,), (3, 2), ()],
    "module__dropout": [0.0, 0.5],
    "optimizer__weight_decay": [0.0, 1e-4],
    "iterator_train__shuffle": [True, False],
}


@budget(150)
@given(CLASSIFIER_PARAMS, st.data())
def test_classifier_parameters_work_or_say_why(name, data):
    value = data.draw(
        st.one_of(st.sampled_from(CLASSIFIER_VALID[name]), ODD_VALUES), label=name
    )
    if name == "max_epochs" and isinstance(value, int | float) and value > 3:
        value = 3  # a valid count, kept short
    params = {"max_epochs": 1, name: value}
    clf = works_or_says_why(lambda: TransferClassifier(**params).fit(X_SMALL, Y_SMALL))
    if clf is not None:
        proba = clf.predict_proba(X_SMALL)
        assert np.isfinite(proba).all()


@budget(80)
@given(st.data())
def test_estimators_take_or_refuse_any_data(data):
    X = data.draw(matrices(rows=(8, 8, 8, 2, 0), cols=(3, 3, 2, 0)))
    n = len(X) if hasattr(X, "__len__") else 0
    y = data.draw(labels(n))
    clf = works_or_says_why(lambda: TransferClassifier(max_epochs=1).fit(X, y))
    if clf is not None:
        assert np.isfinite(clf.predict_proba(X)).all()
    reg = works_or_says_why(lambda: TransferRegressor(max_epochs=1).fit(X, y))
    if reg is not None:
        assert np.isfinite(reg.predict(X)).all()


#: Each adaptation loss with the values its parameters take.
LOSS_VALID = {
    DANN: {"layer": [-2, "layers.1"], "hidden_units": [4], "gamma": [10.0, 0.0]},
    CDAN: {"layer": [-2], "entropy": [True], "randomized": [True], "max_features": [8]},
    MMD: {"layer": [-2], "multipliers": [(1.0,), (0.5, 2.0)]},
    DeepCORAL: {"layer": [-2, -1]},
    InformationMaximization: {"layer": [-1], "diversity": [0.0, 2.0]},
    MCC: {"layer": [-1], "temperature": [1.0, 2.5]},
    MeanTeacher: {"ema": [0.5], "threshold": [0.5], "class_balance": [0.0, 0.1]},
    SHOT: {"diversity": [1.0], "pseudo_label_weight": [0.0, 0.3]},
}  # fmt: skip


@budget(80)
@given(st.sampled_from(sorted(LOSS_VALID, key=lambda c: c.__name__)), st.data())
def test_adaptation_loss_parameters_work_or_say_why(loss_class, data):
    name = data.draw(st.sampled_from(sorted(LOSS_VALID[loss_class])), label="name")
    value = data.draw(
        st.one_of(st.sampled_from(LOSS_VALID[loss_class][name]), ODD_VALUES),
        label=name,
    )
    loss = loss_class(**{name: value})
    weight = data.draw(st.sampled_from(["auto", 1.0, -1.0, float("nan")]))
    clf = works_or_says_why(
        lambda: TransferClassifier(
            source=Source(X=X_SMALL, y=Y_SMALL),
            adaptation=loss,
            adaptation_weight=weight,
            max_epochs=1,
        ).fit(X_SMALL, np.where(np.arange(12) < 6, -1, Y_SMALL))
    )
    if clf is not None:
        assert np.isfinite(clf.predict_proba(X_SMALL)).all()


FEATURE_VALID = {
    "layer": [-1, -2, 0, "layers.1"],
    "pooling": [None, "avg", "max"],
    "batch_size": [1, 5],
    "device": ["cpu"],
    "precision": ["float32", "bfloat16"],
    "memory_format": ["auto", "contiguous"],
}


@budget(60)
@given(st.sampled_from(sorted(FEATURE_VALID)), st.data())
def test_feature_transformer_parameters_work_or_say_why(name, data):
    value = data.draw(
        st.one_of(st.sampled_from(FEATURE_VALID[name]), ODD_VALUES), label=name
    )
    X = data.draw(matrices(rows=(4, 4, 4, 0), cols=(3, 3, 3, 0)))
    network = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    out = works_or_says_why(
        lambda: FeatureTransferTransformer(network, **{name: value}).fit_transform(X)
    )
    if out is not None:
        assert np.isfinite(out).all()


IMAGE_PARAMS = st.sampled_from(
    ["size", "method", "box", "center", "batch_size", "image_shape"]
)


IMAGE_VALID = {
    "size": [(28, 28), 20, (16, 24)],
    "method": ["resize", "pad", "resize_pad"],
    "box": [10, 16],
    "center": ["box", "mass"],
    "batch_size": [1, 7],
    "image_shape": [None, (16, 16), (1, 16, 16), (-1, 16)],
}


@budget(150)
@given(IMAGE_PARAMS, st.data())
def test_image_mapping_works_or_says_why(name, data):
    value = data.draw(
        st.one_of(st.sampled_from(IMAGE_VALID[name]), ODD_VALUES), label=name
    )
    shape = data.draw(
        st.sampled_from(
            [(2, 1, 16, 16)] * 3 + [(2, 16, 16), (2, 3, 8, 12), (2, 256), (0, 1, 4, 4)]
        )
    )
    images = np.random.RandomState(0).rand(*shape).astype(np.float32)
    if data.draw(st.sampled_from([False] * 4 + [True])) and images.size:
        images.flat[0] = data.draw(st.sampled_from([np.nan, np.inf]))
    out = works_or_says_why(lambda: ImageMapping(**{name: value}).fit_transform(images))
    if out is not None:
        assert np.isfinite(out).all()


def test_the_drawn_tensors_stay_on_the_cpu():
    # The checks above are of validation, not of devices: nothing moved.
    assert not torch.cuda.is_initialized()
