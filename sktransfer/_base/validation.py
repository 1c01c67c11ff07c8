"""Input checks shared by the estimators."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data


def validate_samples(estimator, X) -> np.ndarray:
    """Check a fitted estimator's prediction input: float32, finite, same shape.

    ``n_features_in_`` (and feature names) are checked by scikit-learn; the
    whole shape of one sample (an image's ``(C, H, W)``) against
    ``estimator.input_shape_`` here. A read-only array is copied, since torch
    warns on read-only buffers.
    """
    check_is_fitted(estimator)
    X = validate_data(
        estimator,
        X,
        reset=False,
        allow_nd=True,
        dtype=np.float32,
        ensure_all_finite=True,
    )
    if tuple(X.shape[1:]) != estimator.input_shape_:
        raise ValueError(
            f"X has samples of shape {tuple(X.shape[1:])}, but "
            f"{type(estimator).__name__} was fitted on samples of shape "
            f"{estimator.input_shape_}."
        )
    return X if X.flags.writeable else X.copy()


#: What scikit-learn's ``validate_data(..., reset=True)`` sets on an estimator.
SKLEARN_FITTED = ("n_features_in_", "feature_names_in_")


def validate_fit_input(estimator, X, y, **check_params):
    """``validate_data(estimator, X, y, reset=True, **check_params)`` for a
    fit, with the attributes it sets on ``estimator`` (``n_features_in_``,
    ``feature_names_in_``) handed back instead: ``(X, y, attributes)``.

    The estimator keeps the attributes of its last fit (or none) until the
    fit that validates ``X`` writes them all at once, when it has succeeded;
    ``None`` for ``feature_names_in_`` means ``X`` had no names (the
    attribute is then removed, as scikit-learn does).
    """
    state = vars(estimator)
    before = {k: state[k] for k in SKLEARN_FITTED if k in state}
    try:
        X, y = validate_data(estimator, X, y, reset=True, **check_params)
        found = {k: state.get(k) for k in SKLEARN_FITTED}
    finally:
        for k in SKLEARN_FITTED:
            state.pop(k, None)
        state.update(before)
    return X, y, found
