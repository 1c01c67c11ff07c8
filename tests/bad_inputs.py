# ruff: noqa: E501  (one case per line reads as a table)
"""Try bad inputs across the public API; print what each one gets.

``python tests/bad_inputs.py`` prints a markdown table (case, error type,
where it was raised, message). Every case must end in a clear error raised by
sktransfer or by scikit-learn's input validation: not silently (a result that
looks fine), and not from deep inside torch, skorch, h5py or scipy.
``tests/test_bad_inputs.py`` runs the same cases.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from sktransfer import (
    CORAL,
    FeatureTransferTransformer,
    ImageMapping,
    SelectivePseudoLabeling,
    Source,
    TransferClassifier,
    TransferRegressor,
    TransferSelector,
    load_mnist,
    load_office_caltech10,
    load_usps,
    prefix,
)
from sktransfer.adaptation import (
    CDAN,
    DANN,
    MCC,
    MMD,
    SHOT,
    InformationMaximization,
    MeanTeacher,
)
from sktransfer.models import MLP, LeNet
from sktransfer.regularization import BSS, L2SP, Compose

_RNG = np.random.RandomState(0)
X = _RNG.normal(size=(30, 4)).astype(np.float32)
Y = np.arange(30) % 2
IMAGES = _RNG.rand(8, 1, 28, 28).astype(np.float32)
Y_IMAGES = np.arange(8) % 2
TMP = Path(tempfile.mkdtemp(prefix="sktransfer-bad-"))


def fit(**params) -> Callable[[], object]:
    params.setdefault("max_epochs", 1)
    return lambda: TransferClassifier(**params).fit(X, Y)


def fit_regressor(y, **params) -> Callable[[], object]:
    return lambda: TransferRegressor(max_epochs=1, **params).fit(X, y)


def across(**params) -> Callable[[], object]:
    source = params.pop("source", Source(X=X, y=Y))
    return lambda: TransferClassifier(source=source, max_epochs=1, **params).fit(
        X, params.pop("y", Y)
    )


def fitted() -> TransferClassifier:
    return TransferClassifier(max_epochs=1).fit(X, Y)


def source_free(y=None, **params) -> Callable[[], object]:
    """Adapt a fitted classifier's weights without its rows (-1: unlabelled)."""
    y = np.full(len(X), -1) if y is None else y
    return lambda: TransferClassifier(source=fitted(), max_epochs=1, **params).fit(X, y)


def unlabelled_but(labels) -> np.ndarray:
    y = np.full(len(X), -1)
    y[: len(labels)] = labels
    return y


def features(**params) -> Callable[[], object]:
    return lambda: FeatureTransferTransformer(LeNet(), **params).fit(IMAGES)


def mapping(X_in=None, **params) -> Callable[[], object]:
    return lambda: ImageMapping(**params).fit_transform(
        IMAGES[:, :, :16, :16] if X_in is None else X_in
    )


def pickled_payload() -> Path:
    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    path = TMP / "payload.pt"
    torch.save({"w": Payload()}, path)
    return path


def garbage_file(name: str) -> Path:
    path = TMP / name
    path.write_bytes(b"this is not a data file")
    return path


def corrupt_data_home(folder: str, name: str) -> Path:
    home = TMP / f"home-{folder}"
    (home / folder).mkdir(parents=True, exist_ok=True)
    (home / folder / name).write_bytes(b"\x1f\x8b\x08garbage")
    return home


def nan_like(y):
    y = np.asarray(y, dtype=float).copy()
    y[0] = np.nan
    return y


def augment_wrong_shape(batch):
    return batch[:, :2]


CASES: list[tuple[str, Callable[[], object]]] = [
    # TransferClassifier parameters
    ("transfer='features'", fit(transfer="features")),
    ("freeze_depth=1.5", fit(freeze_depth=1.5)),
    ("freeze_depth=99", fit(freeze_depth=99)),
    ("freeze_depth pattern matching nothing", fit(freeze_depth="conv*")),
    ("freeze_depth freezing everything", fit(freeze_depth=2)),
    ("cache_frozen='always'", fit(cache_frozen="always")),
    ("cache_frozen=0", fit(cache_frozen=0)),
    ("memory_format='nhwc'", fit(memory_format="nhwc")),
    ("memory_format='channels_last' on a table", fit(memory_format="channels_last")),
    ("target_weight=-1", fit(target_weight=-1.0)),
    ("target_weight=nan", fit(target_weight=float("nan"))),
    ("adaptation='dann'", fit(adaptation="dann")),
    ("adaptation_weight=inf", fit(adaptation_weight=float("inf"))),
    ("criterion='ce'", fit(criterion="ce")),
    ("optimizer='adam'", fit(optimizer="adam")),
    ("optimizer=nn.Linear", fit(optimizer=nn.Linear)),
    ("lr=-1", fit(lr=-1.0)),
    ("lr=inf", fit(lr=float("inf"))),
    ("lr='0.1'", fit(lr="0.1")),
    ("transferred_lr=-1", fit(transferred_lr=-1.0)),
    ("augment='flip'", fit(augment="flip")),
    ("augment returning another shape", fit(augment=augment_wrong_shape)),
    ("classes missing a label of y", fit(classes=[0, 7])),
    ("unlabelled=[1]", fit(unlabelled=[1])),
    ("max_epochs=-1", fit(max_epochs=-1)),
    ("max_epochs=2.5", fit(max_epochs=2.5)),
    ("batch_size=0", fit(batch_size=0)),
    ("train_split='valid'", fit(train_split="valid")),
    ("callbacks='print'", fit(callbacks="print")),
    ("callbacks=[object()]", fit(callbacks=[object()])),
    ("device='gpu'", fit(device="gpu")),
    ("device='cuda' without CUDA", fit(device="cuda:7")),
    ("precision='half'", fit(precision="half")),
    ("precision='float16' on the CPU", fit(precision="float16")),
    ("net_mixins=3", fit(net_mixins=3)),
    ("net__lr=0.1 (sktransfer sets lr)", fit(net__lr=0.1)),
    ("verbose=-1", fit(verbose=-1)),
    ("random_state='seed'", fit(random_state="seed")),
    ("module='mlp'", fit(module="mlp")),
    ("module that cannot take X", fit(module=nn.Linear(3, 2))),
    ("module with the wrong output width", fit(module=nn.Linear(4, 5))),
    ("module__foo=1 (not a parameter of MLP)", fit(module__foo=1)),
    ("module__* with a module instance", fit(module=MLP(4, 2), module__dropout=0.5)),
    ("unknown parameter hidden=5", fit(hidden=5)),
    ("iterator_train__num_workers='two'", fit(iterator_train__num_workers="two")),
    ("iterator_train__batch_size='x'", fit(iterator_train__batch_size="x")),
    ("iterator_valid__shuffle='yes'", fit(iterator_valid__shuffle="yes")),
    ("optimizer__weight_decay='x'", fit(optimizer__weight_decay="x")),
    # sources
    ("source=42", fit(source=42)),
    ("source path that does not exist", fit(source=TMP / "missing.pt")),
    ("source file that is not a state dict", fit(source=garbage_file("junk.pt"))),
    ("source file with a pickled payload", lambda: fit(source=pickled_payload())()),
    ("source={} (empty state dict)", fit(source={})),
    ("source={'w': 1} (not tensors)", fit(source={"w": 1})),
    ("source=unfitted TransferClassifier", fit(source=TransferClassifier())),
    ("source state dict matching nothing", fit(source={"zzz": torch.zeros(3)})),
    ("transfer='structure' from weights only", fit(source={"zzz": torch.zeros(3)}, transfer="structure")),
    ("Source() with nothing", fit(source=Source())),
    ("Source(X) without y", fit(source=Source(X=X))),
    ("Source(weights=Source())", fit(source=Source(weights=Source(X=X, y=Y)))),
    ("Source.X of another shape", across(source=Source(X=X[:, :3], y=Y))),
    ("Source.X with NaN", across(source=Source(X=np.where(X > 1, np.nan, X), y=Y))),
    ("Source.y continuous", across(source=Source(X=X, y=np.linspace(0, 1, 30)))),
    ("Source.y with a label not in classes", across(source=Source(X=X, y=Y + 5), classes=[0, 1])),
    ("Source.y holding the marker -1", across(source=Source(X=X, y=np.where(Y == 0, -1, 1)))),
    ("Source.y 3-D", across(source=Source(X=X, y=np.zeros((30, 1, 1))))),
    ("adaptation without source data", fit(adaptation=DANN())),
    ("train_split with source data", across(train_split=lambda X, y: (X, None))),
    # adaptation losses
    ("DANN(gamma=nan)", across(adaptation=DANN(gamma=float("nan")))),
    ("DANN(hidden_units=0)", across(adaptation=DANN(hidden_units=0))),
    ("DANN(layer=99)", across(adaptation=DANN(layer=99))),
    ("DANN(layer='nope')", across(adaptation=DANN(layer="nope"))),
    ("DANN(layer=True)", across(adaptation=DANN(layer=True))),
    ("MMD(multipliers=())", across(adaptation=MMD(multipliers=()))),
    ("MMD(multipliers=(0,))", across(adaptation=MMD(multipliers=(0,)))),
    ("InformationMaximization(diversity=-1)", across(adaptation=InformationMaximization(diversity=-1.0))),
    ("InformationMaximization(layer=None)", across(adaptation=InformationMaximization(layer=None))),
    ("InformationMaximization(layer=-2) (hidden units as logits)", across(adaptation=InformationMaximization(layer=-2))),
    ("MCC(temperature=0)", across(adaptation=MCC(temperature=0.0))),
    ("MCC(layer=None)", across(adaptation=MCC(layer=None))),
    ("MMD(layer=None)", across(adaptation=MMD(layer=None))),
    ("CDAN(max_features=0)", across(adaptation=CDAN(max_features=0))),
    ("CDAN(entropy='yes')", across(adaptation=CDAN(entropy="yes"))),
    ("MeanTeacher(ema=1.5)", across(adaptation=MeanTeacher(ema=1.5))),
    ("MeanTeacher(ema=1) keeping the teacher", across(adaptation=MeanTeacher(ema=1.0))),
    ("MeanTeacher(threshold=1)", across(adaptation=MeanTeacher(threshold=1.0))),
    ("MeanTeacher(class_balance=-1)", across(adaptation=MeanTeacher(class_balance=-1.0))),
    ("MeanTeacher(predict_with='mean')", across(adaptation=MeanTeacher(predict_with="mean"))),
    ("SHOT(diversity=nan)", source_free(adaptation=SHOT(diversity=float("nan")))),
    ("SHOT(pseudo_label_weight=-1)", source_free(adaptation=SHOT(pseudo_label_weight=-1.0))),
    ("SHOT(layer=None)", source_free(adaptation=SHOT(layer=None))),
    ("source-free y with a label the source does not predict", source_free(y=unlabelled_but([0, 7]), adaptation=SHOT())),
    ("adaptation_weight=-1", across(adaptation=DANN(), adaptation_weight=-1.0)),
    ("adaptation_weight='Auto'", across(adaptation=DANN(), adaptation_weight="Auto")),
    # regularization
    ("regularization='l2sp'", fit(regularization="l2sp")),
    ("L2SP(alpha=-1)", fit(regularization=L2SP(alpha=-1.0))),
    ("BSS(k=0)", fit(regularization=BSS(k=0))),
    ("BSS(eta=nan)", fit(regularization=BSS(eta=float("nan")))),
    ("L2SP(beta=inf)", fit(regularization=L2SP(beta=float("inf")))),
    ("BSS(layer=99)", fit(regularization=BSS(layer=99))),
    ("Compose of a non-penalty", fit(regularization=Compose([L2SP(), "bss"]))),
    # data given to fit / predict / score
    ("X with NaN", lambda: TransferClassifier().fit(np.where(X > 1, np.nan, X), Y)),
    ("X with inf", lambda: TransferClassifier().fit(np.where(X > 1, np.inf, X), Y)),
    ("X empty", lambda: TransferClassifier().fit(X[:0], Y[:0])),
    ("X 1-D", lambda: TransferClassifier().fit(X[:, 0], Y)),
    ("X of strings", lambda: TransferClassifier().fit(np.full((30, 4), "a"), Y)),
    ("y of one class", lambda: TransferClassifier().fit(X, np.zeros(30))),
    ("y of another length", lambda: TransferClassifier().fit(X, Y[:20])),
    ("y continuous for the classifier", lambda: TransferClassifier().fit(X, X[:, 0])),
    ("predict before fit", lambda: TransferClassifier().predict(X)),
    ("lr so large the last step blows the weights up", fit(optimizer=torch.optim.SGD, lr=1e30)),
    ("predict with other features", lambda: fitted().predict(X[:, :3])),
    ("predict with NaN", lambda: fitted().predict(np.where(X > 1, np.nan, X))),
    ("score on unlabelled rows", lambda: across().__call__().score(X, np.full(30, -1))),
    ("images of another shape at predict", lambda: TransferClassifier(LeNet, max_epochs=1).fit(IMAGES, Y_IMAGES).predict(IMAGES[:, :, :20, :20])),
    # TransferRegressor
    ("regressor y with NaN", fit_regressor(nan_like(X[:, 0]))),
    ("regressor y 3-D", fit_regressor(np.zeros((30, 2, 2)))),
    ("regressor y of strings", fit_regressor(np.array(["a"] * 30))),
    ("regressor classes=... (not a parameter)", fit_regressor(X[:, 0], classes=[0, 1])),
    ("regressor with InformationMaximization", fit_regressor(X[:, 0], source=Source(X=X, y=X[:, 0]), adaptation=InformationMaximization())),
    ("regressor with MeanTeacher", fit_regressor(X[:, 0], source=Source(X=X, y=X[:, 0]), adaptation=MeanTeacher())),
    ("regressor with CDAN on 2 outputs", fit_regressor(X[:, :2], source=Source(X=X, y=X[:, :2]), adaptation=CDAN())),
    ("regressor Source.y of another width", lambda: TransferRegressor(source=Source(X=X, y=np.zeros((30, 2)))).fit(X, X[:, 0])),
    ("regressor score with y of another width", lambda: TransferRegressor(max_epochs=1).fit(X, X[:, 0]).score(X, X[:, :2])),
    # FeatureTransferTransformer
    ("FeatureTransferTransformer layer=1.5", features(layer=1.5)),
    ("FeatureTransferTransformer layer=99", features(layer=99)),
    ("FeatureTransferTransformer layer='nope'", features(layer="nope")),
    ("FeatureTransferTransformer pooling='sum'", features(pooling="sum")),
    ("FeatureTransferTransformer batch_size=0", features(batch_size=0)),
    ("FeatureTransferTransformer device='gpu'", features(device="gpu")),
    ("FeatureTransferTransformer precision='float16' on the CPU", features(precision="float16")),
    ("FeatureTransferTransformer from a state dict", lambda: FeatureTransferTransformer(LeNet().state_dict()).fit(IMAGES)),
    ("FeatureTransferTransformer on inputs the network cannot take", lambda: FeatureTransferTransformer(LeNet()).fit(X)),
    ("FeatureTransferTransformer transform of another shape", lambda: FeatureTransferTransformer(LeNet()).fit(IMAGES).transform(IMAGES[:, :, :20, :20])),
    # ImageMapping
    ("ImageMapping method='crop'", mapping(method="crop")),
    ("ImageMapping size=(28,)", mapping(size=(28,))),
    ("ImageMapping box=0", mapping(box=0)),
    ("ImageMapping box=30", mapping(box=30)),
    ("ImageMapping center='middle'", mapping(center="middle")),
    ("ImageMapping batch_size=0", mapping(batch_size=0)),
    ("ImageMapping on flat rows without image_shape", mapping(X_in=X)),
    ("ImageMapping image_shape that cannot read the rows", mapping(X_in=X, image_shape=(3, 3))),
    ("ImageMapping on images with NaN", mapping(X_in=np.full((2, 1, 4, 4), np.nan))),
    ("ImageMapping method='pad' shrinking", mapping(method="pad", size=(8, 8))),
    # shallow methods
    ("CORAL X_target with NaN (deprecated contract)", lambda: CORAL(np.where(X > 1, np.nan, X)).fit(X)),
    ("CORAL target rows with NaN", lambda: CORAL(source=Source(X=X, y=Y)).fit(np.where(X > 1, np.nan, X))),
    ("CORAL source given as weights only", lambda: CORAL(source=Source(weights=MLP(4, 2))).fit(X)),
    ("CORAL source given as a tuple", lambda: CORAL(source=(X, Y)).fit(X)),
    ("CORAL Source.y coded -1/+1", lambda: CORAL(source=Source(X=X, y=2 * Y - 1)).fit(X)),
    ("CORAL Source.X narrower than the target", lambda: CORAL(source=Source(X=X[:, :3], y=Y)).fit(X)),
    ("CORAL with a regressor", lambda: CORAL(source=Source(X=X, y=Y), estimator=__import__("sklearn.linear_model").linear_model.Ridge()).fit(X)),
    ("CORAL sample_weight of the wrong length", lambda: CORAL(source=Source(X=X, y=Y)).fit(X, Y, sample_weight=np.ones(3))),
    ("CORAL without source and without y", lambda: CORAL().fit(X)),
    ("SelectivePseudoLabeling target rows with inf", lambda: SelectivePseudoLabeling(source=Source(X=X, y=Y)).fit(np.where(X > 1, np.inf, X))),
    ("SelectivePseudoLabeling Source.y of one class", lambda: SelectivePseudoLabeling(source=Source(X=X, y=np.zeros(30))).fit(X)),
    ("CORAL on values whose covariance overflows", lambda: CORAL(X.astype(np.float64) * 1e200).fit(X)),
    ("CORAL regularization=0", lambda: CORAL(X, regularization=0).fit(X)),
    ("SelectivePseudoLabeling n_iter=0", lambda: SelectivePseudoLabeling(X, n_iter=0).fit(X, Y)),
    ("SelectivePseudoLabeling X_target with inf", lambda: SelectivePseudoLabeling(np.where(X > 1, np.inf, X)).fit(X, Y)),
    ("SelectivePseudoLabeling of one class", lambda: SelectivePseudoLabeling(X).fit(X, np.zeros(30))),
    # data loaders and settings
    ("load_mnist offline with no file", lambda: load_mnist(data_home=TMP / "empty", download_if_missing=False)),
    ("load_mnist subset='validation'", lambda: load_mnist(subset="validation", data_home=TMP)),
    ("load_mnist data_home=123", lambda: load_mnist(data_home=123)),
    ("load_usps subset='all'", lambda: load_usps(subset="all", data_home=TMP)),
    ("load_usps from a corrupt h5", lambda: load_usps(data_home=corrupt_data_home("usps", "usps.h5"), download_if_missing=False)),
    ("load_office_caltech10 domain='imagenet'", lambda: load_office_caltech10("imagenet", data_home=TMP)),
    ("prefix.set_cache_limit(-1)", lambda: prefix.set_cache_limit(-1)),
    ("unpickled model fitted again without its source", lambda: pickle.loads(pickle.dumps(TransferClassifier(source=fitted(), max_epochs=1).fit(X, Y))).fit(X, Y)),
    # issue 26: selector / threads
    ("TransferSelector on labels coded {-1, 1}", lambda: TransferSelector([TransferClassifier(max_epochs=1)]).fit(X, np.where(Y == 0, -1, 1))),
    ("TransferSelector, a plain classifier learning the marker -1 as a class", lambda: TransferSelector([LogisticRegression()]).fit(X, unlabelled_but(Y[:10]))),
]  # fmt: skip

# issue 26: data files, cache, metrics, messages


def usps_home(name: str, pixels: np.ndarray) -> Path:
    """A data home whose usps/<name> (usps.h5 or zip.train.gz) holds ``pixels``."""
    import gzip

    import h5py

    home = Path(tempfile.mkdtemp(dir=TMP))
    (home / "usps").mkdir()
    labels = np.arange(len(pixels)) % 10
    if name == "usps.h5":
        with h5py.File(home / "usps" / name, "w") as f:
            f.create_dataset("train/data", data=pixels.astype(np.float32))
            f.create_dataset("train/target", data=labels)
    else:
        lines = (
            " ".join(map(str, [lab, *row]))
            for lab, row in zip(labels, pixels, strict=True)
        )
        (home / "usps" / name).write_bytes(gzip.compress("\n".join(lines).encode()))
    return home


def usps_pixels(value: float, low: float = 0.0) -> np.ndarray:
    pixels = np.full((3, 256), low)
    pixels[1, 5] = value
    return pixels


def metric(name: str) -> Callable:
    import sktransfer.metrics

    return getattr(sktransfer.metrics, name)


def transfer_curve(results) -> Callable[[], object]:
    from sktransfer.plotting import TransferCurveDisplay

    return lambda: TransferCurveDisplay.from_results(results)


def huge_sparse():
    import scipy.sparse

    return scipy.sparse.csr_matrix((100_000, 2_000), dtype=np.float64)


def regressor():
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, Y)


def eight_class_source() -> TransferClassifier:
    return TransferClassifier(max_epochs=1).fit(X, np.arange(30) % 8)


MIXED_LABELS = np.array([0, "a"] * 15, dtype=object)

CASES += [
    ("load_usps from a usps.h5 holding grey levels 0..255", lambda: load_usps(data_home=usps_home("usps.h5", usps_pixels(255.0)))),
    ("load_usps from a usps.h5 with a NaN pixel", lambda: load_usps(data_home=usps_home("usps.h5", usps_pixels(np.nan)))),
    ("load_usps from an ESL file with a pixel of 5.0", lambda: load_usps(data_home=usps_home("zip.train.gz", usps_pixels(5.0, low=-1.0)), download_if_missing=False)),
    ("load_usps from an ESL file with a NaN pixel", lambda: load_usps(data_home=usps_home("zip.train.gz", usps_pixels(np.nan, low=-1.0)), download_if_missing=False)),
    ("load_office_caltech10 domain=['amazon']", lambda: load_office_caltech10(["amazon"], data_home=TMP)),
    ("prefix.set_disk_cache_limit(folder, -1)", lambda: prefix.set_disk_cache_limit(TMP, -1)),
    ("prefix.set_disk_cache_limit on a missing folder", lambda: prefix.set_disk_cache_limit(TMP / "missing", 1 << 20)),
    ("coral_distance of rows around 1e155 (beyond float64)", lambda: metric("coral_distance")(X.astype(np.float64) * 1e155, X[::-1].astype(np.float64) * 2e155)),
    ("log_me on a sparse matrix too large to densify", lambda: metric("log_me")(huge_sparse(), np.arange(100_000) % 2)),
    ("log_me with labels mixing strings and numbers", lambda: metric("log_me")(X, [0, "a"] * 15)),
    ("information_maximization_score on a regressor", lambda: metric("information_maximization_score")(regressor(), X)),
    ("TransferCurveDisplay with a NaN score", transfer_curve({"a": {1: [0.5, float("nan")], 5: [0.7]}})),
    ("MeanTeacher augment returning NaN", lambda: TransferClassifier(source=Source(X=X, y=Y), adaptation=MeanTeacher(augment=lambda t: t * float("nan")), max_epochs=1).fit(X, np.full(30, -1))),
    ("criterion=nn.MSELoss for the classifier", fit(criterion=nn.MSELoss)),
    ("y mixing strings and numbers", lambda: TransferClassifier(max_epochs=1).fit(X, [0, "a"] * 15)),
    ("y of an object array mixing strings and numbers", lambda: TransferClassifier(max_epochs=1).fit(X, MIXED_LABELS)),
    ("Source.y mixing strings and numbers", lambda: TransferClassifier(source=Source(X=X, y=MIXED_LABELS), max_epochs=1).fit(X, np.array(["a", "b"] * 15))),
    ("ImageMapping batch_size=True", mapping(batch_size=True)),
    ("SHOT with classes= that drop the source's output layer", lambda: TransferClassifier(source=eight_class_source(), classes=[0, 1], adaptation=SHOT(), max_epochs=1).fit(X, np.full(30, -1))),
]  # fmt: skip

#: Where a clear error may be raised: our code, or scikit-learn's checks.
CLEAR_ORIGINS = ("sktransfer", "sklearn")


def run_case(case: Callable[[], object]) -> tuple[str, str, str]:
    """``(error type, origin, message)``; error type ``"none"`` when the call
    returned without raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            case()
        except Exception as exc:  # what a user would see
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            origin = _package(frame.filename)
            message = " ".join(str(exc).split())
            return type(exc).__name__, origin, message
    return "none", "", ""


def _package(filename: str) -> str:
    parts = Path(filename).parts
    for name in ("sktransfer", "sklearn", "skorch", "torch", "h5py", "scipy"):
        if name in parts:
            return name
    return Path(filename).name


def main() -> int:
    rows, bad = [], 0
    for name, case in CASES:
        kind, origin, message = run_case(case)
        ok = kind != "none" and origin in CLEAR_ORIGINS
        bad += not ok
        short = message if len(message) < 110 else message[:107] + "..."
        rows.append(f"| {name} | {kind} | {origin} | {short.replace('|', '/')} |")
    print("| case | error | raised in | message |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(
        f"\n{len(CASES)} bad inputs, {len(CASES) - bad} clear errors, {bad} not clear"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
