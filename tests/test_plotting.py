"""sktransfer.plotting: the displays draw what the estimators hold."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sktransfer import (  # noqa: E402
    FeatureTransferTransformer,
    Source,
    TransferClassifier,
)
from sktransfer.adaptation import DeepCORAL  # noqa: E402
from sktransfer.plotting import (  # noqa: E402
    DomainGapDisplay,
    TrainingCurvesDisplay,
    TransferCurveDisplay,
    TransferReportDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def table(n, seed=0, n_classes=2, shift=0.0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    X = rng.normal(size=(n, 6)).astype(np.float32) + shift
    X[:, 0] += 2.0 * y  # learnable
    return X, y


@pytest.fixture(scope="module")
def source_model():
    X, y = table(30)
    return TransferClassifier(max_epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def adapted_model():
    """Unsupervised adaptation: every target row unlabelled."""
    Xs, ys = table(30)
    Xt, _ = table(20, seed=1, shift=1.0)
    return TransferClassifier(
        source=Source(X=Xs, y=ys),
        adaptation=DeepCORAL(),
        max_epochs=2,
        random_state=0,
    ).fit(Xt, np.full(20, -1))


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def legend_handles(ax):
    legend = ax.get_legend()
    return getattr(legend, "legend_handles", None) or legend.legendHandles


# -- the package ---------------------------------------------------------------


def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, sktransfer.plotting as p; "
        "assert 'matplotlib' not in sys.modules, 'imported'; "
        "print(sorted(p.__all__))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "DomainGapDisplay" in out.stdout


@pytest.mark.parametrize(
    "display",
    [
        DomainGapDisplay(np.zeros((2, 2)), np.ones((2, 2))),
        TrainingCurvesDisplay([1, 2], {"train_loss": [1.0, 0.5]}),
        TransferCurveDisplay({"a": {1: 0.5}}),
        TransferReportDisplay(
            pd.DataFrame(
                {"block": ["a"], "state": ["fresh, trained"], "n_parameters": [3]}
            )
        ),
    ],
    ids=lambda display: type(display).__name__,
)
def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, display):
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it fails
    with pytest.raises(ImportError, match=r"pip install 'sktransfer\[plot\]'"):
        display.plot()


# -- DomainGapDisplay ----------------------------------------------------------


def test_domain_gap_draws_one_scatter_per_domain_at_the_pca_coordinates():
    Fs, _ = table(20)
    Ft, _ = table(12, seed=1, shift=1.0)
    display = DomainGapDisplay.from_features(Fs, Ft)
    ax = display.ax_
    assert len(ax.collections) == 2
    assert list(display.scatters_) == ["source", "target"]
    expected = PCA(n_components=2).fit_transform(np.concatenate([Fs, Ft]))
    np.testing.assert_allclose(
        display.scatters_["source"].get_offsets(), expected[:20], atol=1e-5
    )
    np.testing.assert_allclose(
        display.scatters_["target"].get_offsets(), expected[20:], atol=1e-5
    )
    assert legend_texts(ax) == ["source", "target"]
    assert ax.get_xlabel() == "component 1"
    assert ax.get_ylabel() == "component 2"
    # Told apart by marker as well as colour.
    source_path = display.scatters_["source"].get_paths()[0].vertices
    target_path = display.scatters_["target"].get_paths()[0].vertices
    assert source_path.shape != target_path.shape or not np.allclose(
        source_path, target_path
    )
    assert display.figure_ is ax.figure


def test_domain_gap_by_class_colours_classes_alike_across_domains():
    Fs, ys = table(20, n_classes=3)
    Ft, yt = table(12, seed=1, n_classes=3)
    display = DomainGapDisplay.from_features(
        Fs, Ft, y_source=ys, y_target=yt, color_by="class"
    )
    names = [f"{d}: {c}" for d in ("source", "target") for c in range(3)]
    assert list(display.scatters_) == names
    assert legend_texts(display.ax_) == names
    for domain, y in (("source", ys), ("target", yt)):
        for c in range(3):
            offsets = display.scatters_[f"{domain}: {c}"].get_offsets()
            assert len(offsets) == (y == c).sum()
    for c in range(3):
        np.testing.assert_allclose(
            display.scatters_[f"source: {c}"].get_facecolor()[0][:3],
            display.scatters_[f"target: {c}"].get_facecolor()[0][:3],
        )
    assert not np.allclose(
        display.scatters_["source: 0"].get_facecolor()[0],
        display.scatters_["source: 1"].get_facecolor()[0],
    )


def test_domain_gap_by_class_draws_an_unlabelled_domain_as_one_scatter():
    Fs, ys = table(20)
    Ft, _ = table(12, seed=1)
    display = DomainGapDisplay.from_features(Fs, Ft, y_source=ys, color_by="class")
    assert list(display.scatters_) == ["source: 0", "source: 1", "target"]
    assert len(display.scatters_["target"].get_offsets()) == 12


def test_domain_gap_legend_can_be_left_out():
    Fs, ys = table(20, n_classes=3)
    Ft, yt = table(12, seed=1, n_classes=3)
    display = DomainGapDisplay.from_features(
        Fs, Ft, y_source=ys, y_target=yt, color_by="class", legend=False
    )
    assert display.ax_.get_legend() is None
    assert len(display.scatters_) == 6  # the points are all drawn
    display.plot(color_by="domain")
    assert legend_texts(display.ax_) == ["source", "target"]


def test_domain_gap_errors():
    Fs, _ = table(20)
    display = DomainGapDisplay.from_features(Fs, Fs[:5])
    with pytest.raises(ValueError, match='color_by="class" needs labels'):
        display.plot(color_by="class")
    with pytest.raises(ValueError, match="color_by must be"):
        display.plot(color_by="label")
    with pytest.raises(ValueError, match="method must be"):
        DomainGapDisplay.from_features(Fs, Fs, method="umap")
    with pytest.raises(ValueError, match="same feature space"):
        DomainGapDisplay.from_features(Fs, Fs[:, :4])
    with pytest.raises(ValueError, match="y_source has 3 labels for 20 rows"):
        DomainGapDisplay.from_features(Fs, Fs, y_source=[0, 1, 0])


def test_domain_gap_from_estimator_before_and_after_side_by_side(
    source_model, adapted_model
):
    Xs, ys = table(30)
    Xt, _ = table(20, seed=1, shift=1.0)
    fig, (before, after) = plt.subplots(1, 2)
    first = DomainGapDisplay.from_estimator(source_model, Xs, Xt, ax=before)
    second = DomainGapDisplay.from_estimator(
        adapted_model, Xs, Xt, y_source=ys, color_by="class", ax=after
    )
    assert first.ax_ is before and second.ax_ is after
    assert first.figure_ is fig and second.figure_ is fig
    assert len(before.collections) == 2 and len(after.collections) == 3
    assert len(first.scatters_["source"].get_offsets()) == 30
    assert len(first.scatters_["target"].get_offsets()) == 20
    # The embedding is that of the features at layer -2 (layers.1).
    features = FeatureTransferTransformer(source_model.module_, layer=-2).fit(Xs)
    pooled = np.concatenate([features.transform(Xs), features.transform(Xt)])
    np.testing.assert_allclose(
        np.concatenate([first.embedding_source, first.embedding_target]),
        PCA(n_components=2).fit_transform(pooled),
        atol=1e-4,
    )


def test_domain_gap_tsne_and_a_named_layer(source_model):
    Xs, _ = table(15)
    Xt, _ = table(10, seed=1)
    # Barnes-Hut t-SNE's OpenMP threads crawl on a busy 2-core machine (40 s
    # instead of 0.05 s for 25 points): one thread.
    with threadpool_limits(limits=1, user_api="openmp"):
        display = DomainGapDisplay.from_estimator(
            source_model, Xs, Xt, layer="layers.3", method="tsne", random_state=0
        )
    assert display.embedding_source.shape == (15, 2)
    assert display.embedding_target.shape == (10, 2)


def test_domain_gap_from_an_unfitted_estimator_is_refused():
    X, _ = table(10)
    with pytest.raises(NotFittedError, match="not fitted"):
        DomainGapDisplay.from_estimator(TransferClassifier(), X, X)


# -- TrainingCurvesDisplay -----------------------------------------------------


def test_training_curves_plot_the_history(source_model):
    display = TrainingCurvesDisplay.from_estimator(source_model)
    assert list(display.lines_) == ["train_loss"]
    line = display.lines_["train_loss"]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2])
    np.testing.assert_allclose(line.get_ydata(), source_model.history_[:, "train_loss"])
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "loss"
    assert legend_texts(display.ax_) == ["train_loss"]


def test_training_curves_show_every_loss_term_across_domains(adapted_model):
    display = TrainingCurvesDisplay.from_estimator(adapted_model)
    # No labelled target rows: no target_loss.
    assert list(display.lines_) == ["train_loss", "source_loss", "adapt_loss"]
    assert len(display.ax_.get_lines()) == 3
    for key, line in display.lines_.items():
        np.testing.assert_allclose(line.get_ydata(), adapted_model.history_[:, key])

    Xs, ys = table(30)
    Xt, yt = table(20, seed=1)
    semi = TransferClassifier(
        source=Source(X=Xs, y=ys),
        adaptation=DeepCORAL(),
        max_epochs=2,
        random_state=0,
    ).fit(Xt, np.where(np.arange(20) < 10, yt, -1))
    display = TrainingCurvesDisplay.from_estimator(semi)
    assert set(display.lines_) == {
        "train_loss",
        "source_loss",
        "target_loss",
        "adapt_loss",
    }


def test_training_curves_chosen_keys_on_given_axes(adapted_model):
    fig, ax = plt.subplots()
    display = TrainingCurvesDisplay.from_estimator(
        adapted_model, keys=["adapt_loss"], ax=ax
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert list(display.lines_) == ["adapt_loss"]
    assert ax.get_lines() == [display.lines_["adapt_loss"]]


def test_training_curves_errors(source_model):
    with pytest.raises(NotFittedError, match="not fitted"):
        TrainingCurvesDisplay.from_estimator(TransferClassifier())
    with pytest.raises(ValueError, match=r"keys \['valid_loss'\] are not"):
        TrainingCurvesDisplay.from_estimator(source_model, keys=["valid_loss"])
    X, y = table(10)
    untrained = TransferClassifier(
        source=source_model, max_epochs=0, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="no epoch"):
        TrainingCurvesDisplay.from_estimator(untrained)


# -- TransferCurveDisplay ------------------------------------------------------


def test_transfer_curve_from_results_draws_means_and_bands():
    results = {
        "scratch": {1: [0.4, 0.6], 5: [0.7, 0.7], 10: [0.8, 0.9]},
        "fine-tuned": {10: 0.95, 1: 0.8, 5: 0.9},  # one score each, unordered
    }
    display = TransferCurveDisplay.from_results(results)
    ax = display.ax_
    assert list(display.lines_) == ["scratch", "fine-tuned"]
    assert len(ax.get_lines()) == 2
    scratch = display.lines_["scratch"]
    np.testing.assert_array_equal(scratch.get_xdata(), [1, 5, 10])
    np.testing.assert_allclose(scratch.get_ydata(), [0.5, 0.7, 0.85])
    np.testing.assert_allclose(
        display.lines_["fine-tuned"].get_ydata(), [0.8, 0.9, 0.95]
    )
    # A band only where there are several scores: mean ± std.
    assert list(display.bands_) == ["scratch"]
    band_y = display.bands_["scratch"].get_paths()[0].vertices[:, 1]
    assert band_y.min() == pytest.approx(0.4)  # 0.5 - 0.1
    assert band_y.max() == pytest.approx(0.9)  # 0.85 + 0.05
    assert legend_texts(ax) == ["scratch", "fine-tuned"]
    assert ax.get_xlabel() == "labels per class"
    assert ax.get_ylabel() == "target accuracy"
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "5", "10"]


def test_transfer_curve_linear_on_given_axes():
    fig, ax = plt.subplots()
    display = TransferCurveDisplay({"a": {1: [0.5], 2: [0.6]}}).plot(ax, log_x=False)
    assert display.ax_ is ax and display.figure_ is fig
    assert ax.get_xscale() == "linear"


@pytest.mark.parametrize(
    "results, match",
    [
        ({}, "non-empty dict"),
        ({"a": {}}, "non-empty dict"),
        ({"a": {0: 0.5}}, "positive ints"),
        ({"a": {1: []}}, "holds no score"),
        ({"a": {1: "high"}}, "score or a list of scores"),
    ],
)
def test_transfer_curve_refuses_malformed_results(results, match):
    with pytest.raises(ValueError, match=match):
        TransferCurveDisplay.from_results(results)


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Records the rows each clone is fitted on; scores the fraction of 1s."""

    fits = []  # class level: clone would copy an instance-level list

    def __init__(self, name="a"):
        self.name = name

    def fit(self, X, y):
        RecordingClassifier.fits.append((self.name, X[:, 0].copy(), np.copy(y)))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.ones(len(X), dtype=int)


def test_transfer_curve_from_estimators_draws_the_same_rows_for_every_strategy():
    X, y = table(30, n_classes=3)
    X[:, 0] = np.arange(30)  # identifies the rows
    estimators = {"a": RecordingClassifier("a"), "b": RecordingClassifier("b")}
    RecordingClassifier.fits = []
    display = TransferCurveDisplay.from_estimators(
        estimators, X, y, X, y, labels_per_class=(2, 1), n_repeats=3, random_state=0
    )
    fits = RecordingClassifier.fits
    assert len(fits) == 3 * 2 * 2  # repeats x ks x strategies
    for (name_a, rows_a, y_a), (name_b, rows_b, _) in zip(
        fits[::2], fits[1::2], strict=True
    ):
        assert (name_a, name_b) == ("a", "b")
        np.testing.assert_array_equal(rows_a, rows_b)
        np.testing.assert_array_equal(y_a, y[rows_a.astype(int)])
        assert len(rows_a) in (3, 6)
        assert np.bincount(y_a).tolist() == [len(rows_a) // 3] * 3
    assert display.results == {
        "a": {1: pytest.approx([1 / 3] * 3), 2: pytest.approx([1 / 3] * 3)},
        "b": {1: pytest.approx([1 / 3] * 3), 2: pytest.approx([1 / 3] * 3)},
    }
    # Reproducible with the same random_state, other rows with another.
    first = [f[1] for f in fits]
    RecordingClassifier.fits = []
    TransferCurveDisplay.from_estimators(
        estimators, X, y, X, y, labels_per_class=(1, 2), n_repeats=3, random_state=0
    )
    for a, b in zip(first, [f[1] for f in RecordingClassifier.fits], strict=True):
        np.testing.assert_array_equal(a, b)
    RecordingClassifier.fits = []
    TransferCurveDisplay.from_estimators(
        estimators, X, y, X, y, labels_per_class=(1, 2), n_repeats=3, random_state=1
    )
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(first, [f[1] for f in RecordingClassifier.fits], strict=True)
    )


def test_transfer_curve_from_transfer_classifiers(source_model):
    X, y = table(20, seed=2)
    X_test, y_test = table(10, seed=3)
    display = TransferCurveDisplay.from_estimators(
        {
            "scratch": TransferClassifier(max_epochs=2, random_state=0),
            "fine-tuned": TransferClassifier(
                source=source_model, max_epochs=2, random_state=0
            ),
        },
        X,
        y,
        X_test,
        y_test,
        labels_per_class=(1, 3),
        n_repeats=2,
        random_state=0,
    )
    for name, scores in display.results.items():
        assert sorted(scores) == [1, 3]
        assert all(len(s) == 2 and all(0 <= v <= 1 for v in s) for s in scores.values())
        np.testing.assert_allclose(
            display.lines_[name].get_ydata(), [np.mean(scores[1]), np.mean(scores[3])]
        )
    assert sorted(display.bands_) == ["fine-tuned", "scratch"]


def test_transfer_curve_refuses_too_few_rows_per_class_before_fitting():
    X, y = table(9, n_classes=3)  # 3 rows per class
    RecordingClassifier.fits = []
    with pytest.raises(ValueError, match="up to 5 rows per class.*only 3 rows"):
        TransferCurveDisplay.from_estimators(
            {"a": RecordingClassifier()}, X, y, X, y, labels_per_class=(1, 5)
        )
    assert RecordingClassifier.fits == []
    with pytest.raises(ValueError, match="positive ints"):
        TransferCurveDisplay.from_estimators(
            {"a": RecordingClassifier()}, X, y, X, y, labels_per_class=(0,)
        )
    with pytest.raises(ValueError, match="n_repeats must be at least 1"):
        TransferCurveDisplay.from_estimators(
            {"a": RecordingClassifier()}, X, y, X, y, n_repeats=0
        )


# -- TransferReportDisplay -----------------------------------------------------


def bar_colors(display):
    return [to_rgba(bar.get_facecolor()) for bar in display.bars_]


def test_transfer_report_frozen_and_trained_blocks(source_model):
    X, y = table(20, seed=1)
    clf = TransferClassifier(
        source=source_model, freeze_depth=1, max_epochs=1, random_state=0
    ).fit(X, y)
    display = TransferReportDisplay.from_estimator(clf)
    assert display.states["block"].tolist() == clf.blocks_ == ["layers.1", "layers.3"]
    assert display.states["state"].tolist() == [
        "transferred, frozen",
        "transferred, trained",
    ]
    assert display.states["n_parameters"].tolist() == [6 * 100 + 100, 100 * 2 + 2]
    ax = display.ax_
    assert len(display.bars_) == 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["layers.1", "layers.3"]
    colors = bar_colors(display)
    assert colors[0] != colors[1]
    # The legend names the states, with the colours of their bars.
    assert legend_texts(ax) == ["transferred, frozen", "transferred, trained"]
    handle_colors = [to_rgba(h.get_facecolor()) for h in legend_handles(ax)]
    assert handle_colors == colors


def test_transfer_report_fresh_and_reinitialised_blocks(source_model):
    X, y = table(30, seed=1, n_classes=3)
    scratch = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    display = TransferReportDisplay.from_estimator(scratch)
    assert display.states["state"].tolist() == ["fresh, trained"] * 2
    assert legend_texts(display.ax_) == ["fresh, trained"]
    assert bar_colors(display)[0] == bar_colors(display)[1]

    with pytest.warns(UserWarning, match="re-initialised"):
        new_head = TransferClassifier(
            source=source_model, max_epochs=1, random_state=0
        ).fit(X, y)
    fig, ax = plt.subplots()
    display = TransferReportDisplay.from_estimator(new_head, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.states["state"].tolist() == [
        "transferred, trained",
        "reinitialised",
    ]
    report = new_head.transfer_report_
    assert (report.loc[report["block"] == 1, "status"] == "fresh").all()
    assert legend_texts(ax) == ["transferred, trained", "reinitialised"]


def test_transfer_report_custom_colours_and_errors(source_model):
    display = TransferReportDisplay.from_estimator(
        source_model, colors={"fresh, trained": "black"}
    )
    assert bar_colors(display) == [to_rgba("black")] * 2
    with pytest.raises(NotFittedError, match="not fitted"):
        TransferReportDisplay.from_estimator(TransferClassifier())
    bad = TransferReportDisplay(display.states.assign(state="melted"))
    with pytest.raises(ValueError, match="unknown states"):
        bad.plot()
