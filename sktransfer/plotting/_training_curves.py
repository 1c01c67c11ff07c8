"""TrainingCurvesDisplay: the loss terms of a fit, epoch by epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._matplotlib import axes_to_draw_on

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TrainingCurvesDisplay"]

_SUFFIX = "_loss"


class TrainingCurvesDisplay:
    """The loss terms of a fitted network, one line per term, per epoch.

    With source data (:class:`~sktransfer.Source`) the history holds the
    total ``train_loss`` and its terms (``source_loss``, ``target_loss``,
    ``adapt_loss``): plotting them together shows which term drives
    training, e.g. an adaptation loss that collapses while the source loss
    still falls. Build it with :meth:`from_estimator`; the constructor only
    stores the values.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
        The epoch numbers (x values).
    losses : dict of str to array-like of shape (n_epochs,)
        The values of each loss term per epoch (``nan`` where an epoch has
        none), in the order the lines are drawn.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The line of each loss term.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sktransfer import Source, TransferClassifier
    >>> from sktransfer.adaptation import DeepCORAL
    >>> from sktransfer.plotting import TrainingCurvesDisplay
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(20, 6)).astype(np.float32)
    >>> y_source = rng.randint(0, 2, 20)
    >>> clf = TransferClassifier(
    ...     source=Source(X=X_source, y=y_source), adaptation=DeepCORAL(),
    ...     max_epochs=2, random_state=0,
    ... ).fit(X_source + 1.0, np.full(20, -1))
    >>> display = TrainingCurvesDisplay.from_estimator(clf)
    >>> list(display.lines_)
    ['train_loss', 'source_loss', 'adapt_loss']
    >>> len(display.lines_["train_loss"].get_ydata())
    2
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(self, epochs: Any, losses: Mapping[str, Any]) -> None:
        self.epochs = epochs
        self.losses = losses

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> TrainingCurvesDisplay:
        """Draw one line per loss term.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        **kwargs
            Passed to every ``ax.plot`` call (e.g. ``linewidth``).

        Returns
        -------
        display : TrainingCurvesDisplay
            This display, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        figure, ax = axes_to_draw_on(ax, "TrainingCurvesDisplay.plot")
        # Imported once axes_to_draw_on has said how to install matplotlib.
        from matplotlib.ticker import MaxNLocator

        epochs = np.asarray(self.epochs)
        line_kwargs = {"marker": "o" if len(epochs) < 30 else None, **kwargs}
        self.lines_ = {
            key: ax.plot(
                epochs, np.asarray(values, dtype=float), label=key, **line_kwargs
            )[0]
            for key, values in self.losses.items()
        }
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_ = ax
        self.figure_ = figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        keys: Sequence[str] | None = None,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> TrainingCurvesDisplay:
        """Plot the loss terms of a fitted estimator's ``history_``.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted :class:`~sktransfer.TransferClassifier` or
            :class:`~sktransfer.TransferRegressor` (its ``history_``), or a
            skorch net (its ``history``).
        keys : sequence of str, default=None
            The per-epoch history keys to plot. ``None``: every key ending in
            ``"_loss"`` that has a value in each epoch (``train_loss``, and
            ``source_loss``, ``target_loss``, ``adapt_loss``, ``valid_loss``
            where the fit had them), in the history's order.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        history = getattr(estimator, "history_", None)
        if history is None:
            history = getattr(estimator, "history", None)
        if history is None:
            raise ValueError(
                f"{type(estimator).__name__} has no history_ (or skorch history) "
                "to plot."
            )
        epochs = [row for row in history if isinstance(row, Mapping)]
        if not epochs:
            raise ValueError(
                "The estimator's history has no epoch (max_epochs=0?): there is "
                "no loss to plot."
            )
        # The keys of any epoch, in the order they first appear.
        seen = list(dict.fromkeys(key for row in epochs for key in row))
        if keys is None:
            keys = [
                key
                for key in seen
                if key.endswith(_SUFFIX)
                and all(_is_number(row.get(key)) for row in epochs)
            ]
            if not keys:
                raise ValueError(
                    f"The history has no per-epoch key ending in {_SUFFIX!r} "
                    f"with a value in every epoch; its keys are {seen}."
                )
        else:
            if isinstance(keys, str):
                keys = [keys]
            unknown = [
                key
                for key in keys
                if not any(_is_number(row.get(key)) for row in epochs)
            ]
            if unknown:
                raise ValueError(
                    f"keys {unknown} are not per-epoch values in the history; "
                    f"its keys are {seen}."
                )
        losses = {
            key: np.array(
                [
                    float(row[key]) if _is_number(row.get(key)) else np.nan
                    for row in epochs
                ]
            )
            for key in keys
        }
        numbers = np.array([row.get("epoch", i + 1) for i, row in enumerate(epochs)])
        return cls(numbers, losses).plot(ax=ax, **kwargs)


def _is_number(value: object) -> bool:
    """Whether a history value is a plottable scalar (not None, not a list)."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
