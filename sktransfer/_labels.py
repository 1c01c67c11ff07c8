"""Class labels and the marker of unlabelled rows."""

from __future__ import annotations

from numbers import Integral, Number, Real

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets


def marked(y: np.ndarray, marker) -> np.ndarray:
    """Mask of the entries equal to ``marker`` (``None``: none), for numeric,
    string or object ``y``; a number never equals a string."""
    y = np.asarray(y)
    if marker is None or not len(y):
        return np.zeros(len(y), dtype=bool)
    if isinstance(marker, Real):
        if y.dtype.kind in "iuf":
            # NaN never equals itself: a NaN marker marks the NaN entries.
            return np.isnan(y) if marker != marker else y == marker
        test = _is_number
    else:
        test = _is_str
    if y.dtype.kind not in "OUS":
        return np.zeros(len(y), dtype=bool)
    return np.array([test(v) and v == marker for v in y.tolist()], dtype=bool)


def check_marker_type(y: np.ndarray, marker) -> None:
    """Refuse ``y`` whose entries spell ``marker`` in another type (the
    string ``"-1"`` against ``unlabelled=-1``): :func:`marked` would read
    them as a class named ``"-1"``, silently, instead of as unlabelled."""
    y = np.asarray(y)
    if marker is None or not len(y):
        return
    # Only an object array mixes types; a plain one holds the marker's type
    # (nothing to spell it otherwise) or the other one (which may).
    other = "iuf" if isinstance(marker, str) else "US"
    if y.dtype.kind not in "O" + other:
        return
    if isinstance(marker, str):
        try:
            number = float(marker)
        except ValueError:
            return  # no number spells it
        clash = [v for v in y.tolist() if _is_number(v) and v == number]
    else:
        clash = [v for v in y.tolist() if _is_str(v) and v == str(marker)]
    if clash:
        kinds = (
            ("number", "string") if isinstance(marker, str) else ("string", "number")
        )
        raise ValueError(
            f"y holds {clash[0]!r}, a {kinds[0]}, but unlabelled={marker!r} is "
            f"a {kinds[1]}, so those rows would be read as a class, not as "
            "unlabelled. Give y and unlabelled the same type (e.g. "
            "unlabelled='-1' for string labels), or another marker if that "
            "value is a class."
        )


def retyped(y: np.ndarray) -> np.ndarray:
    """An object array of only ints (or only strings), as the plain array it
    would be without the marker, so that it reads as class labels."""
    if y.dtype.kind != "O" or not len(y):
        return y
    values = y.tolist()
    for kind, test in ((np.int64, _is_int), (str, _is_str)):
        if all(test(v) for v in values):
            return np.asarray(values, dtype=kind)
    return y


def _is_int(v) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _is_str(v) -> bool:
    return isinstance(v, str)


def check_not_a_class(labels, marker, what: str, why: str = "") -> None:
    """Refuse class labels (``what``, in words) that hold ``marker``.

    The marker means "no label": a class spelled like it is the ±1 trap
    (labels coded ``{-1, 1}`` against the default ``unlabelled=-1``), where
    the rows of one class would be read as unlabelled, silently. ``why``
    ends the message (what else can cause it).
    """
    if marked(np.asarray(labels), marker).any():
        raise ValueError(
            f"{what} contains {marker!r}, which marks unlabelled target rows "
            f"(unlabelled={marker!r}). If {marker!r} is a class, pass "
            f"unlabelled=None (every target row labelled) or another marker.{why}"
        )


def check_source_labels(y_source: np.ndarray, marker) -> None:
    try:
        check_classification_targets(y_source)
    except ValueError as exc:
        raise ValueError(
            f"Source.y must hold class labels like y: {exc} Regression targets "
            "go with TransferRegressor."
        ) from exc
    check_not_a_class(y_source, marker, "Source.y")


def check_label_kinds(y, marker=None, what: str = "y") -> None:
    """Refuse labels that mix strings and numbers (``[0, "a"]``).

    As one array they all become strings (numpy) or fail to sort: the
    number ``0`` would silently be the class ``"0"``, and ``0`` and ``"0"``
    one class. Entries equal to ``marker`` (in its own type) are left out: an
    object array of strings with the number ``-1`` for unlabelled rows is
    fine. Arrays of one dtype (numeric or text) cannot mix and are not read.
    """
    dtype = getattr(y, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", None) != "O":
        return  # a numeric or text array, or a tensor: one type
    try:
        values = np.asarray(y, dtype=object).ravel().tolist()
    except (TypeError, ValueError):
        return  # ragged: the usual checks report it
    marker_is_str = isinstance(marker, str)
    text, number = None, None
    for v in values:
        if isinstance(v, str | bytes):
            if text is None and not (marker_is_str and v == marker):
                text = v
        elif isinstance(v, Number) and number is None:
            if not (marker is not None and not marker_is_str and v == marker):
                number = v
        if text is not None and number is not None:
            raise ValueError(
                f"{what} mixes strings and numbers (e.g. {text!r} and {number!r}): "
                f"as one array the numbers would become strings, so {number!r} "
                f"would silently be the class {str(number)!r}. Give every label "
                "the same type (e.g. all strings)."
            )


def labelled_rows(X, y, sample_weight, marker, needs: str = "accuracy needs labels"):
    """``(X, y, sample_weight)`` without the rows of ``y`` marked ``marker``,
    for scoring: accuracy on the labelled rows, so that a search over partly
    labelled target rows ranks its candidates on those. Unchanged when no row
    is marked; a clear ``ValueError`` when every row is (accuracy needs
    labels: the label-free scorers compare models without them)."""
    unlabelled = marked(np.asarray(y), marker)
    if not unlabelled.any():
        return X, y, sample_weight
    if unlabelled.all():
        raise ValueError(
            f"y has all its {len(unlabelled)} rows marked unlabelled "
            f"({marker!r}): {needs}. To compare models without "
            "target labels, score with sktransfer.information_maximization_score "
            "(e.g. GridSearchCV(..., scoring=information_maximization_score))."
        )
    rows = np.flatnonzero(~unlabelled)
    if sample_weight is not None:
        sample_weight = _safe_indexing(sample_weight, rows)
    return _safe_indexing(X, rows), retyped(np.asarray(y)[rows]), sample_weight
