"""TransferReportDisplay: what happened to each block of the network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ._matplotlib import axes_to_draw_on

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TransferReportDisplay"]

# Every state a block can be in, in legend order, with its default colour.
_STATE_COLORS = {
    "transferred, frozen": "#4c72b0",
    "transferred, trained": "#55a868",
    "partly transferred, frozen": "#8172b3",
    "partly transferred, trained": "#937860",
    "fresh, frozen": "#8c8c8c",
    "fresh, trained": "#dd8452",
    "reinitialised": "#c44e52",
}
_OUTSIDE = "(outside blocks)"  # parameters the forward trace put in no block


class TransferReportDisplay:
    """The transfer report of a fitted network, one cell per block.

    Each block (``blocks_``, in forward order, top to bottom) is one bar,
    coloured by its state:

    - ``"transferred, frozen"``: the source's weights, kept fixed;
    - ``"transferred, trained"``: the source's weights, fine-tuned;
    - ``"fresh, trained"``: no source weights (training from scratch, a new
      layer, ``transfer="structure"``), trained;
    - ``"reinitialised"``: the source has the block's parameters with another
      shape (e.g. a head for other classes), so they start from scratch;
    - ``"fresh, frozen"`` and ``"partly transferred, ..."`` (only some of the
      block's parameters came from the source) for the rarer cases.

    Build it with :meth:`from_estimator`; the constructor only stores the
    states.

    Parameters
    ----------
    states : pandas.DataFrame
        One row per block, in forward order, with the columns ``"block"``
        (its name), ``"state"`` (one of the states above) and
        ``"n_parameters"`` (its number of scalar parameters).

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The bars, one per block, in the order of ``states``.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sktransfer import TransferClassifier
    >>> from sktransfer.plotting import TransferReportDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(20, 6)).astype(np.float32)
    >>> source = TransferClassifier(max_epochs=1, random_state=0)
    >>> source = source.fit(X, rng.randint(0, 2, 20))
    >>> clf = TransferClassifier(
    ...     source=source, freeze_depth=1, max_epochs=1, random_state=0
    ... ).fit(X, rng.randint(0, 2, 20))
    >>> display = TransferReportDisplay.from_estimator(clf)
    >>> display.states
          block                 state  n_parameters
    0  layers.1   transferred, frozen           700
    1  layers.3  transferred, trained           202
    >>> len(display.bars_)
    2
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(self, states: pd.DataFrame) -> None:
        self.states = states

    def plot(
        self, ax: Axes | None = None, *, colors: Mapping[str, Any] | None = None
    ) -> TransferReportDisplay:
        """Draw one bar per block, coloured by its state.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        colors : dict of str to color, default=None
            Colours of some states, replacing the defaults.

        Returns
        -------
        display : TransferReportDisplay
            This display, with ``ax_``, ``figure_`` and ``bars_`` set.
        """
        palette = {**_STATE_COLORS, **(colors or {})}
        unknown = sorted(set(self.states["state"]) - set(palette))
        if unknown:
            raise ValueError(
                f"states holds unknown states {unknown}; the states are "
                f"{list(_STATE_COLORS)} (or give their colours in colors)."
            )
        figure, ax = axes_to_draw_on(ax, "TransferReportDisplay.plot")
        # Imported once axes_to_draw_on has said how to install matplotlib.
        from matplotlib.patches import Patch

        positions = np.arange(len(self.states))
        self.bars_ = ax.barh(
            positions,
            np.ones(len(positions)),
            color=[palette[state] for state in self.states["state"]],
            edgecolor="white",
        )
        for position, n in zip(positions, self.states["n_parameters"], strict=True):
            ax.text(0.5, position, f"{n:,} parameters", ha="center", va="center")
        ax.set_yticks(positions, labels=list(self.states["block"]))
        ax.set_ylim(len(positions) - 0.5, -0.5)  # the first block on top
        ax.set_xlim(0, 1)
        ax.set_xticks([])
        ax.set_ylabel("block")
        present = [s for s in palette if s in set(self.states["state"])]
        ax.legend(
            handles=[Patch(color=palette[s], label=s) for s in present],
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),  # outside: the bars fill the axes
            borderaxespad=0.0,
        )
        self.ax_ = ax
        self.figure_ = figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator: Any, *, ax: Axes | None = None, **kwargs: Any
    ) -> TransferReportDisplay:
        """Plot the ``transfer_report_`` of a fitted estimator by block.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted :class:`~sktransfer.TransferClassifier` or
            :class:`~sktransfer.TransferRegressor`.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TransferReportDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        report = getattr(estimator, "transfer_report_", None)
        blocks = getattr(estimator, "blocks_", None)
        if not isinstance(report, pd.DataFrame) or blocks is None:
            raise ValueError(
                f"{type(estimator).__name__} has no transfer_report_ and "
                "blocks_: give a fitted TransferClassifier or TransferRegressor."
            )
        return cls(_block_states(report, list(blocks))).plot(ax=ax, **kwargs)


def _block_states(report: pd.DataFrame, blocks: list[str]) -> pd.DataFrame:
    """One row per block of the report: its name, state and size."""
    rows = []
    groups = [(name, report[report["block"] == i]) for i, name in enumerate(blocks)]
    outside = report[~report["block"].between(0, len(blocks) - 1)]
    if len(outside):
        groups.append((_OUTSIDE, outside))
    for name, params in groups:
        if params.empty:  # a block without parameters of its own: nothing to say
            continue
        transferred = params["status"] == "transferred"
        if "reinitialised" in params and params["reinitialised"].any():
            state = "reinitialised"
        else:
            origin = (
                "transferred"
                if transferred.all()
                else "partly transferred"
                if transferred.any()
                else "fresh"
            )
            # Freezing acts on whole blocks: trained if any parameter is.
            training = "trained" if params["trainable"].any() else "frozen"
            state = f"{origin}, {training}"
        n_parameters = int(sum(int(np.prod(shape)) for shape in params["shape"]))
        rows.append({"block": name, "state": state, "n_parameters": n_parameters})
    return pd.DataFrame(rows, columns=["block", "state", "n_parameters"])
