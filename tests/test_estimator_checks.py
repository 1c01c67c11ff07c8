"""scikit-learn's own estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransfer import TransferClassifier


@parametrize_with_checks([TransferClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
