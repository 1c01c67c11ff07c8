"""SubspaceAlignment and TransferComponentAnalysis: transformers that map both
domains into one space, fitted on the target rows with the source in ``source=``."""

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from sktransfer import Source, SubspaceAlignment, TransferComponentAnalysis
from sktransfer.shallow._subspace import _leading_eigenpairs


def _nuisance_domains(seed):
    """The class along feature 0 in both domains; large noise in domain-specific
    directions (1-3 in the source, 4-6 in the target); the target's mean shifted."""
    rng = np.random.RandomState(seed)

    def domain(n, noisy, shift):
        y = rng.randint(2, size=n)
        X = rng.normal(scale=0.3, size=(n, 12)) + shift
        X[:, 0] += 2.0 * y - 1.0
        X[:, noisy] += rng.normal(scale=3.0, size=(n, len(noisy)))
        return X, y

    return (*domain(400, [1, 2, 3], 0.0), *domain(400, [4, 5, 6], 2.0))


def _shifted_domains(seed, n=300):
    """Two features carry the class; the second is shifted in the target."""
    rng = np.random.RandomState(seed)

    def domain(shift):
        y = rng.randint(2, size=n)
        X = rng.normal(size=(n, 5))
        X[:, 0] += 2.0 * y - 1.0
        X[:, 1] += 2.0 * y - 1.0 + shift
        return X, y

    return (*domain(0.0), *domain(3.0))


# -- SubspaceAlignment --------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subspace_alignment_improves_target_accuracy(seed):
    Xs, ys, Xt, yt = _nuisance_domains(seed)
    raw = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    sa = SubspaceAlignment(n_components=4, source=Source(X=Xs)).fit(Xt)
    model = LogisticRegression().fit(sa.transform_source(), ys)
    assert raw < 0.8 and model.score(sa.transform(Xt), yt) > 0.95, raw


def test_alignment_recovers_the_rotation_between_the_bases():
    # A target rotated by R: its principal directions are R times the
    # source's (up to signs), and M = Ps^T Pt = Ps^T R Ps in that basis.
    rng = np.random.RandomState(0)
    scales = np.array([4.0, 3.0, 2.0, 1.0, 0.5])
    Xs = rng.normal(size=(2000, 5)) * scales
    R = ortho_group.rvs(5, random_state=1)
    Xt = (rng.normal(size=(2000, 5)) * scales) @ R.T
    sa = SubspaceAlignment(n_components=5, source=Source(X=Xs)).fit(Xt)
    Ps, Pt = sa.components_source_.T, sa.components_target_.T
    np.testing.assert_allclose(np.abs(sa.M_), np.abs(Ps.T @ R @ Ps), atol=0.05)
    np.testing.assert_allclose(Ps @ sa.M_, Pt, atol=1e-10)  # k = d: exact


def test_subspace_alignment_maps_as_documented():
    Xs, _, Xt, _ = _nuisance_domains(0)
    sa = SubspaceAlignment(n_components=3, source=Source(X=Xs)).fit(Xt)
    Ps, Pt = sa.components_source_.T, sa.components_target_.T
    np.testing.assert_allclose(sa.M_, Ps.T @ Pt)
    np.testing.assert_allclose(sa.transform(Xt), (Xt - Xt.mean(0)) @ Pt)
    np.testing.assert_allclose(sa.transform_source(), (Xs - Xs.mean(0)) @ Ps @ sa.M_)
    np.testing.assert_allclose(sa.transform_source(Xs[:7]), sa.source_embedding_[:7])
    np.testing.assert_allclose(sa.fit_transform(Xt), sa.transform(Xt))
    assert sa.n_components_ == 3
    assert list(sa.get_feature_names_out()) == [
        f"subspacealignment{i}" for i in range(3)
    ]


def test_subspace_alignment_caps_the_dimension():
    Xs, _, Xt, _ = _nuisance_domains(0)
    sa = SubspaceAlignment(n_components=50, source=Source(X=Xs[:8])).fit(Xt)
    assert sa.n_components_ == 8  # the source's 8 rows
    assert sa.transform(Xt).shape == (len(Xt), 8)


def test_subspace_alignment_without_a_source_is_the_targets_pca():
    _, _, Xt, _ = _nuisance_domains(0)
    sa = SubspaceAlignment(n_components=2).fit(Xt)
    assert sa.M_ is None
    with pytest.raises(ValueError, match="fitted without a source"):
        sa.transform_source()


# -- TransferComponentAnalysis ------------------------------------------------


def _mmd2(A, B):
    return float(np.sum((A.mean(0) - B.mean(0)) ** 2))


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_tca_reduces_the_mean_discrepancy_of_the_embedded_domains(kernel):
    Xs, _, Xt, _ = _shifted_domains(0)
    source = Source(X=Xs)
    gaps = {}
    for mu in (0.0, 1.0):  # mu=0: kernel PCA of both domains, same scaling
        tca = TransferComponentAnalysis(3, kernel=kernel, mu=mu, source=source)
        Zt = tca.fit_transform(Xt)
        gaps[mu] = _mmd2(tca.transform_source(), Zt)
        # Each component has variance 1 over the rows it was fitted on.
        Z = np.vstack([tca.transform_source(), Zt])
        np.testing.assert_allclose(Z.var(axis=0), 1.0, rtol=1e-6)
    assert gaps[1.0] < 0.01 * gaps[0.0], gaps


@pytest.mark.parametrize("seed", [0, 1])
def test_tca_improves_target_accuracy(seed):
    Xs, ys, Xt, yt = _shifted_domains(seed)
    raw = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    tca = TransferComponentAnalysis(2, source=Source(X=Xs)).fit(Xt)
    model = LogisticRegression().fit(tca.transform_source(), ys)
    assert model.score(tca.transform(Xt), yt) > raw + 0.15, raw


def test_tca_maps_every_row_through_one_embedding():
    Xs, _, Xt, _ = _shifted_domains(0, n=100)
    tca = TransferComponentAnalysis(3, kernel="rbf", source=Source(X=Xs)).fit(Xt)
    np.testing.assert_allclose(tca.transform_source(), tca.transform(Xs))
    np.testing.assert_allclose(tca.transform_source(Xs[:5]), tca.transform(Xs[:5]))
    np.testing.assert_allclose(tca.fit_transform(Xt), tca.transform(Xt))
    assert tca.X_fit_.shape == (200, 5) and tca.bandwidth_ > 0
    assert tca.eigenvectors_.shape == (200, 3)
    assert np.all(np.diff(tca.eigenvalues_) <= 0)


def test_tca_subsamples_above_max_samples_reproducibly():
    Xs, _, Xt, _ = _shifted_domains(0)  # 300 + 300 rows
    make = TransferComponentAnalysis(2, max_samples=100, source=Source(X=Xs))
    a = clone(make).set_params(random_state=0).fit(Xt)
    b = clone(make).set_params(random_state=0).fit(Xt)
    c = clone(make).set_params(random_state=1).fit(Xt)
    assert a.X_fit_.shape == (100, 5)
    assert a.source_embedding_.shape == (300, 2)  # every source row is mapped
    np.testing.assert_array_equal(a.transform(Xt), b.transform(Xt))
    assert not np.allclose(a.transform(Xt), c.transform(Xt))


def test_the_iterative_eigensolver_agrees_with_the_dense_one():
    G = np.random.RandomState(0).normal(size=(600, 600))
    values, vectors = _leading_eigenpairs(G, 4, np.random.RandomState(0))
    dense = np.linalg.eigvalsh(G.T @ G)[::-1][:4]
    np.testing.assert_allclose(values, dense, rtol=1e-8)
    np.testing.assert_allclose(G.T @ (G @ vectors), vectors * values, atol=1e-6)


def test_tca_without_a_source_is_whitened_kernel_pca():
    _, _, Xt, _ = _shifted_domains(0)
    tca = TransferComponentAnalysis(3).fit(Xt)
    np.testing.assert_allclose(tca.transform(Xt).var(axis=0), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="fitted without a source"):
        tca.transform_source()


# -- both ---------------------------------------------------------------------


@pytest.mark.parametrize("make", [SubspaceAlignment, TransferComponentAnalysis])
def test_clone_keeps_the_source_and_nothing_is_modified(make):
    Xs, ys, Xt, _ = _shifted_domains(0, n=80)
    copies = Xs.copy(), ys.copy(), Xt.copy()
    source = Source(X=Xs, y=ys)
    model = make(2, source=source)
    assert clone(model).source is source
    clone(model).fit(Xt)
    for before, after in zip(copies, (Xs, ys, Xt), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    "make, params, match",
    [
        (SubspaceAlignment, {"n_components": 0}, "n_components must be a positive"),
        (TransferComponentAnalysis, {"n_components": 2.5}, "n_components must be"),
        (TransferComponentAnalysis, {"kernel": "poly"}, "kernel must be 'linear'"),
        (TransferComponentAnalysis, {"mu": -1.0}, "mu must be a non-negative"),
        (TransferComponentAnalysis, {"bandwidth": 0}, "bandwidth must be a positive"),
        (TransferComponentAnalysis, {"max_samples": 3}, "max_samples must be at least"),
    ],
)
def test_bad_parameters_are_refused_clearly(make, params, match):
    Xs, _, Xt, _ = _shifted_domains(0, n=50)
    model = make(source=Source(X=Xs)).set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(Xt)


@pytest.mark.parametrize("make", [SubspaceAlignment, TransferComponentAnalysis])
def test_bad_sources_are_refused_clearly(make):
    Xs, _, Xt, _ = _shifted_domains(0, n=50)
    with pytest.raises(TypeError, match="sktransfer.Source"):
        make(source=Xs).fit(Xt)
    with pytest.raises(ValueError, match="Source.X has 4 features but X"):
        make(source=Source(X=Xs[:, :4])).fit(Xt)
    with pytest.raises(ValueError, match="Source.X has 1 rows"):
        make(source=Source(X=Xs[:1])).fit(Xt)
