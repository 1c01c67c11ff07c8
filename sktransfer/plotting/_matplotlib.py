"""Lazy access to matplotlib, an optional dependency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def pyplot(caller: str) -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it.

    Imported here, not at module level, so that ``import sktransfer.plotting``
    works (and stays cheap) without matplotlib.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it "
            "with: pip install 'sktransfer[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def axes_to_draw_on(ax: Axes | None, caller: str) -> tuple[Figure, Axes]:
    """The figure and axes to draw on: ``ax``'s, or a new figure's."""
    plt = pyplot(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax
