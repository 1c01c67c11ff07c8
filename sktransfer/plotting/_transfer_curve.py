"""TransferCurveDisplay: target accuracy against the number of target labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state, column_or_1d

from ._matplotlib import axes_to_draw_on

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TransferCurveDisplay"]


class TransferCurveDisplay:
    """Target accuracy against the number of target labels per class.

    One line per strategy (from scratch, fine-tuning, a frozen source, an
    adaptation loss, ...): where the lines cross says from how many labels
    on a strategy stops paying off. With several scores per point (seeds,
    draws of the labelled rows) the line is their mean and a band shows one
    standard deviation either side. Build it with :meth:`from_results`
    (scores already computed) or :meth:`from_estimators` (draws the labelled
    rows, fits and scores every strategy).

    Parameters
    ----------
    results : dict of str to dict of int to list of float
        For each strategy, the scores for each number of labels per class.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The line of each strategy: x the numbers of labels per class, y the
        mean scores.
    bands_ : dict of str to matplotlib PolyCollection
        The mean ± one standard deviation (``ddof=0``) band of each strategy
        that has several scores for some number of labels.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktransfer.plotting import TransferCurveDisplay
    >>> display = TransferCurveDisplay.from_results({
    ...     "from scratch": {1: [0.40, 0.50], 5: [0.60, 0.70], 10: [0.80, 0.84]},
    ...     "fine-tuned": {1: [0.70, 0.74], 5: [0.82, 0.84], 10: [0.88, 0.90]},
    ... })
    >>> display.lines_["fine-tuned"].get_ydata().round(2).tolist()
    [0.72, 0.83, 0.89]
    >>> sorted(display.bands_)
    ['fine-tuned', 'from scratch']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(self, results: Mapping[str, Mapping[int, Any]]) -> None:
        self.results = results

    def plot(
        self, ax: Axes | None = None, *, log_x: bool = True, **kwargs: Any
    ) -> TransferCurveDisplay:
        """Draw one line (and band) per strategy.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        log_x : bool, default=True
            Log-scale the x axis: the numbers of labels usually grow
            geometrically (1, 5, 10, 50).
        **kwargs
            Passed to every ``ax.plot`` call.

        Returns
        -------
        display : TransferCurveDisplay
            This display, with ``ax_``, ``figure_``, ``lines_`` and ``bands_``
            set.
        """
        results = _checked_results(self.results)
        figure, ax = axes_to_draw_on(ax, "TransferCurveDisplay.plot")
        # Imported once axes_to_draw_on has said how to install matplotlib.
        from matplotlib.ticker import NullFormatter

        self.lines_, self.bands_ = {}, {}
        all_ks: set[int] = set()
        for name, scores in results.items():
            ks = sorted(scores)
            all_ks.update(ks)
            means = np.array([np.mean(scores[k]) for k in ks])
            stds = np.array([np.std(scores[k]) for k in ks])
            line_kwargs = {"marker": "o", **kwargs}
            (line,) = ax.plot(ks, means, label=name, **line_kwargs)
            self.lines_[name] = line
            if any(len(scores[k]) > 1 for k in ks):
                self.bands_[name] = ax.fill_between(
                    ks,
                    means - stds,
                    means + stds,
                    color=line.get_color(),
                    alpha=0.2,
                    linewidth=0,
                )
        if log_x:
            ax.set_xscale("log")
            # Label the numbers that were measured, not powers of ten.
            ticks = sorted(all_ks)
            ax.set_xticks(ticks, labels=[str(k) for k in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("labels per class")
        ax.set_ylabel("target accuracy")
        ax.legend()
        self.ax_ = ax
        self.figure_ = figure
        return self

    @classmethod
    def from_results(
        cls,
        results: Mapping[str, Mapping[int, float | Iterable[float]]],
        *,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> TransferCurveDisplay:
        """Plot scores already computed.

        Parameters
        ----------
        results : dict of str to dict of int to float or list of float
            For each strategy, ``{labels_per_class: score}`` or
            ``{labels_per_class: [score, ...]}`` (several seeds or draws).
            Every score must be finite: a NaN (a failed run) raises a
            ``ValueError`` instead of silently dropping the point.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TransferCurveDisplay
            The display, drawn.
        """
        return cls(_checked_results(results)).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimators(
        cls,
        estimators: Mapping[str, Any],
        X: Any,
        y: Any,
        X_test: Any,
        y_test: Any,
        *,
        labels_per_class: Iterable[int] = (1, 5, 10),
        n_repeats: int = 1,
        random_state: Any = None,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> TransferCurveDisplay:
        """Fit every strategy on a few labelled target rows per class and plot.

        For each repeat and each ``k`` in ``labels_per_class``, ``k`` rows of
        each class are drawn from ``X, y`` without replacement; a
        :func:`~sklearn.base.clone` of every estimator is fitted on the same
        rows and scored on ``X_test, y_test`` with its ``score`` method
        (accuracy for a classifier). Every estimator keeps its own
        parameters, ``random_state`` included: the repeats differ by the rows
        drawn.

        Parameters
        ----------
        estimators : dict of str to estimator
            The strategies, by name (the legend's labels).
        X : array-like of shape (n_samples, ...)
            The labelled target rows to draw from.
        y : array-like of shape (n_samples,)
            Their labels.
        X_test : array-like of shape (n_test, ...)
            Target rows to score on.
        y_test : array-like of shape (n_test,)
            Their labels.
        labels_per_class : iterable of int, default=(1, 5, 10)
            The numbers of labelled rows per class to try.
        n_repeats : int, default=1
            How many times each number of rows is drawn (and every strategy
            fitted and scored).
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of the labelled rows.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TransferCurveDisplay
            The display, drawn; ``results`` holds every score.
        """
        if not isinstance(estimators, Mapping) or not estimators:
            raise ValueError(
                "estimators must be a non-empty dict of name to estimator."
            )
        if isinstance(n_repeats, bool) or not isinstance(n_repeats, Integral):
            raise TypeError(f"n_repeats must be an int, got {n_repeats!r}.")
        if n_repeats < 1:
            raise ValueError(f"n_repeats must be at least 1, got {n_repeats}.")
        ks = _checked_ks(labels_per_class)
        y = column_or_1d(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels.")
        classes, counts = np.unique(y, return_counts=True)
        # Refuse before any fit rather than after minutes of training.
        short = counts < ks[-1]
        if short.any():
            raise ValueError(
                f"labels_per_class asks for up to {ks[-1]} rows per class, but "
                f"class {classes[short][0]!r} has only {counts[short][0]} rows "
                "in y."
            )
        rng = check_random_state(random_state)
        rows_of = [np.flatnonzero(y == cls) for cls in classes]
        results: dict[str, dict[int, list[float]]] = {
            name: {k: [] for k in ks} for name in estimators
        }
        for _ in range(n_repeats):
            for k in ks:
                # The same rows for every strategy: a fair comparison.
                rows = np.sort(
                    np.concatenate([rng.choice(r, k, replace=False) for r in rows_of])
                )
                X_k, y_k = _take(X, rows), y[rows]
                for name, estimator in estimators.items():
                    fitted = clone(estimator).fit(X_k, y_k)
                    results[name][k].append(float(fitted.score(X_test, y_test)))
        return cls(results).plot(ax=ax, **kwargs)


def _take(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array or a DataFrame."""
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def _checked_ks(labels_per_class: Iterable[int]) -> list[int]:
    ks = list(labels_per_class)
    if not ks or any(
        isinstance(k, bool) or not isinstance(k, Integral) or k < 1 for k in ks
    ):
        raise ValueError(
            "labels_per_class must be a non-empty sequence of positive ints, "
            f"got {labels_per_class!r}."
        )
    return sorted({int(k) for k in ks})


def _checked_results(
    results: Mapping[str, Mapping[int, Any]],
) -> dict[str, dict[int, list[float]]]:
    """``results`` with every score as a non-empty list of floats."""
    if not isinstance(results, Mapping) or not results:
        raise ValueError(
            "results must be a non-empty dict of strategy to "
            "{labels_per_class: score or list of scores}."
        )
    checked = {}
    for name, scores in results.items():
        if not isinstance(scores, Mapping) or not scores:
            raise ValueError(
                f"results[{name!r}] must be a non-empty dict of "
                "labels_per_class to a score or a list of scores."
            )
        _checked_ks(scores)
        checked[name] = {}
        for k, values in scores.items():
            try:
                values = np.asarray(values, dtype=float).ravel()
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"results[{name!r}][{k!r}] must be a score or a list of "
                    f"scores, got {values!r}."
                ) from exc
            if values.size == 0:
                raise ValueError(f"results[{name!r}][{k!r}] holds no score.")
            bad = ~np.isfinite(values)
            if bad.any():
                # A mean over them would be NaN: matplotlib leaves the point
                # out of the line and the band without a word.
                raise ValueError(
                    f"results[{name!r}][{k!r}] holds {int(bad.sum())} score(s) "
                    f"that are not finite ({values[bad][0]!r} among "
                    f"{values.tolist()!r}): a failed fit or an undefined score. "
                    "Drop them (the point is then the mean of the others) or "
                    "fix the run that produced them."
                )
            checked[name][int(k)] = values.tolist()
    return checked
