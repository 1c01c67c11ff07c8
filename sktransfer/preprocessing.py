"""Image-batch transformers usable as scikit-learn pipeline steps."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._params import Interval

__all__ = ["ImageMapping"]

_METHODS = ("resize", "pad", "resize_pad")
_POSITIVE_INT = Interval(Integral, 1)
_CENTERS = ("box", "mass")


def _as_pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, Integral):
        pair: tuple = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(
            f"{name} must be a positive int or a pair of positive ints, got {value!r}."
        )
    return int(pair[0]), int(pair[1])


class ImageMapping(TransformerMixin, BaseEstimator):
    """Map a batch of images to a fixed size, e.g. USPS 16x16 to MNIST 28x28.

    Input images are ``(n, C, H, W)`` arrays (``(n, H, W)`` is read as one
    channel); the output is ``(n, C, h, w)`` float32 with ``(h, w) = size``.
    Images stored as flat rows ``(n, C*H*W)`` (a DataFrame of pixels, say) are
    mapped when ``image_shape`` says how to read them, and come back as flat
    rows ``(n, C*h*w)``. Background is assumed to be 0, which is what the
    padding adds. The transformer learns nothing: ``fit`` only checks the input
    and records its shape, which ``transform`` then requires.

    Parameters
    ----------
    size : int or tuple of (int, int), default=(28, 28)
        Output height and width.
    method : {"resize_pad", "resize", "pad"}, default="resize_pad"
        - ``"resize"``: stretch each image to ``size``.
        - ``"pad"``: place each image unchanged on a zero canvas of ``size``
          (which must not be smaller than the input).
        - ``"resize_pad"``: resize each image, keeping its aspect ratio, so
          that its longer side is ``box``, then place it on a zero canvas of
          ``size``, the way MNIST puts digits in a 20x20 box inside 28x28.
    box : int, default=20
        Longer side of the resized image for ``method="resize_pad"``; must
        not exceed ``size``.
    center : {"box", "mass"}, default="box"
        Where ``"pad"`` and ``"resize_pad"`` place the image: ``"box"``
        centres the image's frame on the canvas; ``"mass"`` shifts each image
        by whole pixels so that its centre of mass (of the non-negative
        intensities, summed over channels) lands on pixel
        ``(h // 2, w // 2)``, as MNIST does, as far as possible without moving
        any ink (non-zero pixel) off the canvas; empty borders of the frame
        may be cut. Images with no mass are centred as with ``"box"``. Ignored
        by ``"resize"``.
    batch_size : int, default=1024
        Number of images resized at a time, bounding the extra memory.
    image_shape : tuple of int, default=None
        The shape ``(H, W)`` or ``(C, H, W)`` of one image when ``X`` holds
        flat rows, as in :func:`numpy.reshape` (one ``-1`` may stand for the
        rest): ``(16, 16)`` for USPS rows, ``(1, -1)`` for 1-D signals.
        ``None``: ``X`` must hold images, and flat rows are refused (they
        would otherwise be misread).

    Attributes
    ----------
    input_shape_ : tuple of int
        ``(C, H, W)`` of the images seen in ``fit``.
    output_shape_ : tuple of int
        ``(C, h, w)`` of the images ``transform`` returns.
    n_features_in_ : int
        Values per flat row with ``image_shape``; else image channels.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string columns.

    Notes
    -----
    Resizing uses :func:`torch.nn.functional.interpolate` with
    ``mode="bilinear"``, ``antialias=True`` and ``align_corners=False``. Its
    weights are non-negative and sum to one, so outputs stay within the input
    range. The input array is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.preprocessing import ImageMapping
    >>> X = np.zeros((2, 1, 16, 16), dtype=np.float32)
    >>> X[:, :, 4:12, 6:10] = 1.0
    >>> Xt = ImageMapping(size=(28, 28), box=20).fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((2, 1, 28, 28), dtype('float32'))
    >>> rows, cols = np.nonzero(Xt[0, 0])
    >>> bool(rows.min() >= 4 and rows.max() < 24 and cols.min() >= 4)
    True
    >>> ImageMapping(method="pad").fit_transform(X).shape
    (2, 1, 28, 28)
    >>> rows = X.reshape(2, -1)  # flat rows of 256 pixels, as USPS often comes
    >>> ImageMapping(image_shape=(16, 16)).fit_transform(rows).shape
    (2, 784)
    """

    def __init__(
        self,
        size=(28, 28),
        method: str = "resize_pad",
        box: int = 20,
        center: str = "box",
        batch_size: int = 1024,
        image_shape=None,
    ):
        self.size = size
        self.method = method
        self.box = box
        self.center = center
        self.batch_size = batch_size
        self.image_shape = image_shape

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = self.image_shape is not None
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- validation ---------------------------------------------------------

    def _check_params(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        size = _as_pair(self.size, "size")
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}.")
        if self.center not in _CENTERS:
            raise ValueError(f"center must be one of {_CENTERS}, got {self.center!r}.")
        # The library's rule for an int parameter: a bool is not one here.
        if not _POSITIVE_INT(self.batch_size):
            raise ValueError(
                f"batch_size must be a positive int, got {self.batch_size!r}."
            )
        if self.method == "resize_pad":
            box = self.box
            if not _POSITIVE_INT(box):
                raise ValueError(f"box must be a positive int, got {box!r}.")
            if box > min(size):
                raise ValueError(f"box={box} does not fit in size={size}.")
        if self.method == "pad" and (image_hw[0] > size[0] or image_hw[1] > size[1]):
            raise ValueError(
                f"method='pad' cannot shrink images: input is {image_hw}, "
                f"target size is {size}; use method='resize' or 'resize_pad'."
            )
        return size

    def _check_images(self, X, reset: bool) -> np.ndarray:
        """``X`` as a float32 batch ``(n, C, H, W)``; records or checks the
        input's width (and column names) like every scikit-learn estimator."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        flat = self.image_shape is not None
        if flat:  # a table: the usual checks, then the rows read as images
            X = validate_data(
                self, X, reset=reset, dtype=np.float32, ensure_all_finite=False
            )
            X = X.reshape(len(X), *self._image_shape(X.shape[1]))
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise ValueError(f"images must be numeric, got dtype {X.dtype}.")
        # No copy when X is already float32; never written to afterwards.
        X = X.astype(np.float32, copy=False)
        if X.ndim == 3:
            X = X[:, np.newaxis]
        if X.ndim != 4:
            raise ValueError(
                "Expected images of shape (n, C, H, W) or (n, H, W), got an array "
                f"with {X.ndim} dimension(s) and shape {X.shape}; for flat rows "
                "of pixels, give image_shape."
            )
        if 0 in X.shape:
            raise ValueError(f"Found an empty image batch of shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("Input images contain NaN or infinity.")
        return X

    def _image_shape(self, n_values: int) -> tuple[int, ...]:
        shape = self.image_shape
        try:
            shape = tuple(int(d) for d in shape)
            ok = len(shape) in (2, 3) and all(d > 0 or d == -1 for d in shape)
            ok = ok and shape.count(-1) <= 1 and not isinstance(self.image_shape, str)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "image_shape must be (H, W) or (C, H, W) of positive ints, with at "
                f"most one -1; got {self.image_shape!r}."
            )
        known = int(np.prod([d for d in shape if d != -1]))
        if -1 in shape and n_values % known == 0 and n_values:
            shape = tuple(n_values // known if d == -1 else d for d in shape)
        if int(np.prod(shape)) != n_values:
            raise ValueError(
                f"X has rows of {n_values} values, which image_shape="
                f"{self.image_shape!r} cannot read."
            )
        return shape

    # -- estimator API ------------------------------------------------------

    def fit(self, X, y=None):
        """Check the images and the parameters; record the input shape.

        Parameters
        ----------
        X : array-like of shape (n, C, H, W) or (n, H, W)
            Images; or flat rows ``(n, C*H*W)`` read with ``image_shape``.
        y : None
            Ignored.

        Returns
        -------
        self : ImageMapping
            The fitted transformer.

        Examples
        --------
        >>> import numpy as np
        >>> from sktransfer.preprocessing import ImageMapping
        >>> ImageMapping().fit(np.zeros((3, 16, 16))).input_shape_
        (1, 16, 16)
        """
        X = self._check_images(X, reset=True)
        size = self._check_params(X.shape[2:])
        if self.image_shape is None:  # n_features_in_: the channels
            validate_data(self, X, reset=True, allow_nd=True, ensure_all_finite=False)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        self.output_shape_ = (self.input_shape_[0], *size)
        return self

    def transform(self, X) -> np.ndarray:
        """Map the images to ``size``.

        Parameters
        ----------
        X : array-like of shape (n, C, H, W) or (n, H, W)
            Images with the same ``(C, H, W)`` as in ``fit`` (flat rows with
            ``image_shape``).

        Returns
        -------
        Xt : ndarray of shape (n, C, h, w), float32
            The mapped images, ``(h, w) = size``; flat rows ``(n, C*h*w)``
            with ``image_shape``.

        Examples
        --------
        >>> import numpy as np
        >>> from sktransfer.preprocessing import ImageMapping
        >>> X = np.ones((1, 1, 2, 2))
        >>> ImageMapping(size=4, method="pad").fit(X).transform(X)[0, 0]
        array([[0., 0., 0., 0.],
               [0., 1., 1., 0.],
               [0., 1., 1., 0.],
               [0., 0., 0., 0.]], dtype=float32)
        """
        check_is_fitted(self, "input_shape_")
        X = self._check_images(X, reset=False)
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has images of shape {X.shape[1:]}, but ImageMapping was fitted "
                f"on images of shape {self.input_shape_}."
            )
        out = self._map(X, self._check_params(X.shape[2:]))
        return out if self.image_shape is None else out.reshape(len(out), -1)

    def _map(self, X: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        if self.method == "resize":
            return self._resize(X, size)
        if self.method == "resize_pad":
            h, w = X.shape[2:]
            scale = self.box / max(h, w)
            inner = (max(1, round(h * scale)), max(1, round(w * scale)))
            X = self._resize(X, inner)
        return self._place(X, size)

    # -- helpers ------------------------------------------------------------

    def _resize(self, X: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        out = np.empty((len(X), X.shape[1], *size), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                # A copy per batch: torch never holds (or writes to) the input.
                batch = torch.from_numpy(X[start : start + self.batch_size].copy())
                out[start : start + len(batch)] = torch.nn.functional.interpolate(
                    batch,
                    size=size,
                    mode="bilinear",
                    antialias=True,
                    align_corners=False,
                ).numpy()
        return out

    def _place(self, X: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        n, c, h, w = X.shape
        out = np.zeros((n, c, *size), dtype=np.float32)
        top = np.full(n, (size[0] - h) // 2, dtype=np.intp)
        left = np.full(n, (size[1] - w) // 2, dtype=np.intp)
        if self.center == "mass":
            mass = np.clip(X, 0, None).sum(axis=1, dtype=np.float64)
            top = _mass_offset(mass.sum(axis=2), size[0], top)
            left = _mass_offset(mass.sum(axis=1), size[1], left)
        # Few distinct offsets: copy each group with one slice assignment.
        for dy, dx in np.unique(np.stack([top, left], axis=1), axis=0):
            idx = np.flatnonzero((top == dy) & (left == dx))
            src_y, dst_y = _overlap(dy, h, size[0])
            src_x, dst_x = _overlap(dx, w, size[1])
            out[idx, :, dst_y, dst_x] = X[idx][:, :, src_y, src_x]
        return out


def _mass_offset(profile: np.ndarray, n_out: int, default: np.ndarray) -> np.ndarray:
    """Per-image shift along one axis that puts the centre of mass of
    ``profile`` (n, length) on pixel ``n_out // 2``, as MNIST does, clipped so
    that no ink leaves the canvas (empty frame borders may).
    """
    length = profile.shape[1]
    total = profile.sum(axis=1)
    has_mass = total > 0
    com = (profile * np.arange(length)).sum(axis=1) / np.where(has_mass, total, 1.0)
    ink = profile > 0
    first = ink.argmax(axis=1)
    last = length - 1 - ink[:, ::-1].argmax(axis=1)
    shift = np.clip(np.floor(n_out // 2 - com + 0.5), -first, n_out - 1 - last)
    return np.where(has_mass, shift, default).astype(np.intp)


def _overlap(offset: int, length: int, n_out: int) -> tuple[slice, slice]:
    """Source and canvas slices of an axis of ``length`` placed at ``offset``."""
    start = max(0, -offset)
    stop = min(length, n_out - offset)
    return slice(start, stop), slice(start + offset, stop + offset)
