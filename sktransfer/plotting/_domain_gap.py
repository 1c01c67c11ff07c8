"""DomainGapDisplay: source and target features in two dimensions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.utils.validation import check_array, check_is_fitted
from torch import nn

from ..features import FeatureTransferTransformer
from ._matplotlib import axes_to_draw_on

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["DomainGapDisplay"]

_DOMAINS = ("source", "target")
_MARKERS = {"source": "o", "target": "^"}
_DOMAIN_COLORS = {"source": "C0", "target": "C1"}
_UNLABELLED_COLOR = "0.6"  # grey: a domain without labels when colouring by class
_METHODS = ("pca", "tsne")


class DomainGapDisplay:
    """Source and target features embedded in two dimensions.

    Shows how far apart the two domains lie in a network's feature space, and
    whether the classes line up across them: plot the source model and the
    adapted model side by side to see what the adaptation did. Build it with
    :meth:`from_estimator` (features of a fitted network at one layer) or
    :meth:`from_features` (features already computed); the constructor only
    stores an embedding.

    Parameters
    ----------
    embedding_source : ndarray of shape (n_source, 2)
        The 2-D embedding of the source rows.
    embedding_target : ndarray of shape (n_target, 2)
        The 2-D embedding of the target rows, in the same coordinates.
    y_source : array-like of shape (n_source,), default=None
        Labels of the source rows, to colour them by class.
    y_target : array-like of shape (n_target,), default=None
        Labels of the target rows, to colour them by class.

    Attributes
    ----------
    scatters_ : dict of str to matplotlib PathCollection
        One scatter per legend entry: ``"source"`` and ``"target"`` when
        coloured by domain; ``"<domain>: <class>"`` for each labelled domain
        and class (plus the bare domain name for a domain without labels) when
        coloured by class.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    sktransfer.FeatureTransferTransformer : The features of a network's layer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sktransfer import Source, TransferClassifier
    >>> from sktransfer.adaptation import DeepCORAL
    >>> from sktransfer.plotting import DomainGapDisplay
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(20, 6)).astype(np.float32)
    >>> y_source = rng.randint(0, 2, 20)
    >>> X_target = X_source[:12] + 1.0
    >>> source_model = TransferClassifier(max_epochs=2, random_state=0)
    >>> source_model = source_model.fit(X_source, y_source)
    >>> adapted = TransferClassifier(
    ...     source=Source(source_model, X=X_source, y=y_source),
    ...     adaptation=DeepCORAL(), max_epochs=2, random_state=0,
    ... ).fit(X_target, np.full(12, -1))
    >>> fig, (before, after) = plt.subplots(1, 2, figsize=(8, 4))
    >>> display = DomainGapDisplay.from_estimator(
    ...     source_model, X_source, X_target, ax=before
    ... )
    >>> display = DomainGapDisplay.from_estimator(
    ...     adapted, X_source, X_target, y_source=y_source,
    ...     color_by="class", ax=after,
    ... )
    >>> sorted(display.scatters_)
    ['source: 0', 'source: 1', 'target']
    >>> len(display.scatters_["target"].get_offsets())
    12
    >>> plt.close(fig)
    """

    def __init__(
        self,
        embedding_source: np.ndarray,
        embedding_target: np.ndarray,
        *,
        y_source: Any = None,
        y_target: Any = None,
    ) -> None:
        self.embedding_source = embedding_source
        self.embedding_target = embedding_target
        self.y_source = y_source
        self.y_target = y_target

    def plot(
        self, ax: Axes | None = None, *, color_by: str = "domain", legend: bool = True
    ) -> DomainGapDisplay:
        """Draw the embedding.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.
        color_by : {"domain", "class"}, default="domain"
            ``"domain"``: one colour and marker per domain. ``"class"``: one
            colour per class, one marker per domain; a domain without labels
            is drawn in grey. Needs ``y_source`` or ``y_target``.
        legend : bool, default=True
            Whether to draw the legend (with ``color_by="class"`` it has an
            entry per class and domain).

        Returns
        -------
        display : DomainGapDisplay
            This display, with ``ax_``, ``figure_`` and ``scatters_`` set.
        """
        if color_by not in ("domain", "class"):
            raise ValueError(f'color_by must be "domain" or "class", got {color_by!r}.')
        embeddings = {"source": self.embedding_source, "target": self.embedding_target}
        labels = {"source": self.y_source, "target": self.y_target}
        if color_by == "class" and all(v is None for v in labels.values()):
            raise ValueError(
                'color_by="class" needs labels: give y_source or y_target.'
            )
        figure, ax = axes_to_draw_on(ax, "DomainGapDisplay.plot")
        scatters = {}
        if color_by == "domain":
            for domain in _DOMAINS:
                points = np.asarray(embeddings[domain])
                scatters[domain] = ax.scatter(
                    points[:, 0],
                    points[:, 1],
                    marker=_MARKERS[domain],
                    color=_DOMAIN_COLORS[domain],
                    alpha=0.7,
                    label=domain,
                )
        else:
            # One colour per class across both domains, so that matching
            # classes of the two domains read as the same colour.
            present = [np.asarray(y) for y in labels.values() if y is not None]
            classes = np.unique(np.concatenate(present))
            colors = _class_colors(len(classes))
            for domain in _DOMAINS:
                points = np.asarray(embeddings[domain])
                y = labels[domain]
                if y is None:
                    scatters[domain] = ax.scatter(
                        points[:, 0],
                        points[:, 1],
                        marker=_MARKERS[domain],
                        color=_UNLABELLED_COLOR,
                        alpha=0.5,
                        label=domain,
                    )
                    continue
                y = np.asarray(y)
                for cls, color in zip(classes, colors, strict=True):
                    rows = y == cls
                    if not rows.any():
                        continue
                    name = f"{domain}: {cls}"
                    scatters[name] = ax.scatter(
                        points[rows, 0],
                        points[rows, 1],
                        marker=_MARKERS[domain],
                        color=color,
                        alpha=0.7,
                        label=name,
                    )
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        if legend:
            ax.legend(fontsize="small")
        self.scatters_ = scatters
        self.ax_ = ax
        self.figure_ = figure
        return self

    @classmethod
    def from_features(
        cls,
        features_source: Any,
        features_target: Any,
        *,
        y_source: Any = None,
        y_target: Any = None,
        method: str = "pca",
        random_state: Any = None,
        color_by: str = "domain",
        legend: bool = True,
        ax: Axes | None = None,
    ) -> DomainGapDisplay:
        """Embed source and target features together and plot them.

        Parameters
        ----------
        features_source : array-like of shape (n_source, n_features)
            Features of the source rows.
        features_target : array-like of shape (n_target, n_features)
            Features of the target rows, in the same feature space.
        y_source, y_target : array-like of shape (n_source,) / (n_target,), \
default=None
            Labels, to colour the points by class.
        method : {"pca", "tsne"}, default="pca"
            ``"pca"``: :class:`sklearn.decomposition.PCA`; ``"tsne"``:
            :class:`sklearn.manifold.TSNE` (with a perplexity of at most a
            third of the rows, so that small samples work). Either is fitted
            on the source and target rows pooled, so that both are in the
            same coordinates.
        random_state : int, RandomState instance or None, default=None
            Seeds the embedding (t-SNE, randomised PCA solvers).
        color_by : {"domain", "class"}, default="domain"
            See :meth:`plot`.
        legend : bool, default=True
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.

        Returns
        -------
        display : DomainGapDisplay
            The display, drawn.
        """
        source = check_array(features_source, input_name="features_source")
        target = check_array(features_target, input_name="features_target")
        if source.shape[1] != target.shape[1]:
            raise ValueError(
                f"features_source has {source.shape[1]} features but "
                f"features_target has {target.shape[1]}: they must come from "
                "the same feature space."
            )
        for name, y, rows in (
            ("y_source", y_source, len(source)),
            ("y_target", y_target, len(target)),
        ):
            if y is not None and len(y) != rows:
                raise ValueError(f"{name} has {len(y)} labels for {rows} rows.")
        if method not in _METHODS:
            raise ValueError(f'method must be "pca" or "tsne", got {method!r}.')
        pooled = np.concatenate([source, target])
        if method == "pca":
            embedder = PCA(n_components=2, random_state=random_state)
        else:
            # TSNE refuses a perplexity of n_samples or more.
            perplexity = min(30.0, max(1.0, (len(pooled) - 1) / 3))
            embedder = TSNE(
                n_components=2,
                perplexity=perplexity,
                init="pca",
                random_state=random_state,
            )
        embedding = embedder.fit_transform(pooled)
        display = cls(
            embedding[: len(source)],
            embedding[len(source) :],
            y_source=y_source,
            y_target=y_target,
        )
        return display.plot(ax=ax, color_by=color_by, legend=legend)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X_source: Any,
        X_target: Any,
        *,
        layer: int | str = -2,
        y_source: Any = None,
        y_target: Any = None,
        method: str = "pca",
        random_state: Any = None,
        color_by: str = "domain",
        legend: bool = True,
        ax: Axes | None = None,
    ) -> DomainGapDisplay:
        """Plot the features a fitted network computes at ``layer``.

        Parameters
        ----------
        estimator : fitted estimator with ``module_``, or torch.nn.Module
            A fitted :class:`~sktransfer.TransferClassifier`,
            :class:`~sktransfer.TransferRegressor` or skorch net, or a network.
        X_source : array-like of shape (n_source, ...)
            Source inputs, in the format the network takes.
        X_target : array-like of shape (n_target, ...)
            Target inputs.
        layer : int or str, default=-2
            The layer whose output is embedded: a block index or a module
            name, as in :class:`~sktransfer.FeatureTransferTransformer`.
        y_source, y_target : array-like, default=None
            Labels, to colour the points by class.
        method : {"pca", "tsne"}, default="pca"
            See :meth:`from_features`.
        random_state : int, RandomState instance or None, default=None
            Seeds the embedding.
        color_by : {"domain", "class"}, default="domain"
            See :meth:`plot`.
        legend : bool, default=True
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` draws on a new figure.

        Returns
        -------
        display : DomainGapDisplay
            The display, drawn.
        """
        if isinstance(estimator, nn.Module):
            network = estimator
        else:
            check_is_fitted(estimator)
            network = getattr(estimator, "module_", None)
            if not isinstance(network, nn.Module):
                raise TypeError(
                    "estimator must be a fitted estimator with a module_ "
                    "(TransferClassifier, TransferRegressor, skorch net) or a "
                    f"torch.nn.Module, got {type(estimator).__name__}."
                )
        features = FeatureTransferTransformer(
            network, layer=layer, device=_device_of(network)
        ).fit(X_source)
        return cls.from_features(
            features.transform(X_source),
            features.transform(X_target),
            y_source=y_source,
            y_target=y_target,
            method=method,
            random_state=random_state,
            color_by=color_by,
            legend=legend,
            ax=ax,
        )


def _device_of(network: nn.Module) -> str:
    """The network's device, so that features are computed where it lives
    rather than on a copy moved to the CPU."""
    for tensor in network.parameters():
        return str(tensor.device)
    return "cpu"


def _class_colors(n: int) -> list[Any]:
    """``n`` distinct colours: tab10 while it suffices, else evenly spaced."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    return [colormaps["viridis"](i / (n - 1)) for i in range(n)]
