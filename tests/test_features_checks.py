"""scikit-learn's estimator checks on FeatureTransferTransformer."""

import warnings

from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from sktransfer.features import FeatureTransferTransformer


@parametrize_with_checks([FeatureTransferTransformer()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_check_estimator_runs_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning from our code either
        results = check_estimator(
            FeatureTransferTransformer(), on_skip=None, on_fail=None
        )
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed
