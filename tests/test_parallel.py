"""Beyond one process: sources travel slim and once per Dask worker, source
data as a file, and frozen-prefix outputs shared on disk."""

from __future__ import annotations

import pickle
import threading

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sktransfer import Source, TransferClassifier
from sktransfer._base.sharing import SharedSource, SlimWeights
from sktransfer.models import MLP
from sktransfer.prefix import cache_info, clear_cache


def _data(n=120, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32) + shift
    y = (X[:, 0] + X[:, 1] - 2 * shift > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted_source():
    X, y = _data(seed=1)
    return TransferClassifier(MLP, max_epochs=3, random_state=0).fit(X, y)


def test_an_unfitted_estimator_pickles_its_fitted_source_slim(fitted_source):
    X, y = _data(shift=0.3)
    estimator = TransferClassifier(source=fitted_source, max_epochs=2, random_state=0)
    payload = pickle.dumps(estimator)
    # The source's optimizer state (Adam: twice the weights) and history stay home.
    assert len(payload) < 0.5 * len(pickle.dumps(fitted_source))
    loaded = pickle.loads(payload)
    assert isinstance(loaded.source, SlimWeights)
    assert estimator.source is fitted_source  # the original is untouched
    np.testing.assert_array_equal(
        loaded.fit(X, y).predict_proba(X), estimator.fit(X, y).predict_proba(X)
    )
    assert loaded.transfer_report_.equals(estimator.transfer_report_)


def test_source_data_given_as_a_file_pickles_as_its_name(tmp_path, fitted_source):
    X_source, y_source = _data(n=2000, seed=2)
    np.save(tmp_path / "X.npy", X_source)
    np.save(tmp_path / "y.npy", y_source)
    X, y = _data(n=60, shift=0.3)
    in_memory = Source(weights=fitted_source, X=X_source, y=y_source)
    mapped = Source(
        weights=fitted_source,
        X=np.load(tmp_path / "X.npy", mmap_mode="r"),
        y=np.load(tmp_path / "y.npy", mmap_mode="r"),
    )
    by_path = Source(
        weights=fitted_source, X=tmp_path / "X.npy", y=str(tmp_path / "y.npy")
    )
    assert "X.npy" in repr(by_path)
    sources = {"memory": in_memory, "mapped": mapped, "path": by_path}
    sizes = {name: len(pickle.dumps(s)) for name, s in sources.items()}
    assert sizes["mapped"] < sizes["memory"] - X_source.nbytes + 1000
    assert sizes["path"] < sizes["memory"] - X_source.nbytes + 1000
    reloaded = pickle.loads(pickle.dumps(mapped))
    assert isinstance(reloaded.X, np.memmap)
    np.testing.assert_array_equal(reloaded.X, X_source)
    probas = [
        TransferClassifier(source=s, max_epochs=1, random_state=0)
        .fit(X, y)
        .predict_proba(X)
        for s in (in_memory, reloaded, by_path)
    ]
    np.testing.assert_array_equal(probas[0], probas[1])
    np.testing.assert_array_equal(probas[0], probas[2])


def test_a_source_path_that_is_no_npy_file_is_refused(tmp_path, fitted_source):
    X, y = _data(n=30)
    missing = Source(weights=fitted_source, X=tmp_path / "missing.npy", y=y)
    with pytest.raises(ValueError, match=r"Source\.X is the path .*missing\.npy"):
        TransferClassifier(source=missing, max_epochs=1).fit(X, y)


def test_a_shared_source_outside_its_cluster_says_so():
    estimator = TransferClassifier(
        source=SharedSource("sktransfer-source-x", "TransferClassifier")
    )
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="sent to a Dask cluster"):
        estimator.fit(X, y)


def test_cache_frozen_shares_prefix_outputs_through_a_folder(tmp_path, fitted_source):
    X, y = _data(shift=0.3)
    common = dict(source=fitted_source, freeze_depth=1, max_epochs=2, random_state=0)
    clear_cache()
    first = TransferClassifier(cache_frozen=tmp_path, **common).fit(X, y)
    assert first.training_strategy_ == "frozen_prefix"
    assert len(list(tmp_path.glob("sktransfer-prefix-*.npy"))) == 1
    clear_cache()  # as in another process: only the folder holds the outputs
    second = TransferClassifier(cache_frozen=joblib.Memory(tmp_path, verbose=0),
                                **common).fit(X, y)  # fmt: skip
    assert cache_info().disk_hits == 1 and cache_info().misses == 1
    plain = TransferClassifier(cache_frozen=False, **common).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_allclose(first.predict_proba(X), plain.predict_proba(X),
                               rtol=1e-5, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    "value", ["Auto", "no/such/folder", joblib.Memory(None, verbose=0), 1]
)
def test_cache_frozen_refuses_what_is_no_folder(value):
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="cache_frozen must be"):
        TransferClassifier(cache_frozen=value, max_epochs=1).fit(X, y)


# -- on a Dask cluster ---------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        yield client


def _shipped_in_loop(client, estimator):
    """The source a task carries when dask ships ``estimator``."""
    return pickle.loads(_pickled_in_loop(client, estimator)).source


def _pickled_in_loop(client, obj) -> bytes:
    """``obj`` pickled in the client's event loop thread, as dask pickles the
    tasks it submits."""
    done, out = threading.Event(), {}

    def run():
        try:
            out["bytes"] = pickle.dumps(obj)
        finally:
            done.set()

    client.loop.add_callback(run)
    assert done.wait(30)
    return out["bytes"]


def _kept(token, dask_worker=None) -> bool:
    from sktransfer._base import sharing

    return token in sharing._LOCAL


def test_a_dask_grid_ships_the_source_once_per_worker(client, fitted_source):
    X_source, y_source = _data(n=3000, seed=2)
    X, y = _data(shift=0.3)
    estimator = TransferClassifier(
        source=Source(weights=fitted_source, X=X_source, y=y_source),
        max_epochs=2, random_state=0,
    )  # fmt: skip
    full = len(pickle.dumps(estimator))
    with joblib.parallel_backend("dask"):
        task = clone(estimator)
    assert len(_pickled_in_loop(client, task)) < 2000 < full / 50
    # Pickled anywhere else (joblib.dump to disk), it carries the source itself.
    assert not isinstance(pickle.loads(pickle.dumps(task)).source, SharedSource)

    search = GridSearchCV(estimator, {"lr": [1e-3, 3e-3], "target_weight": [1, 2]},
                          cv=2, refit=False)  # fmt: skip
    serial = clone(search).fit(X, y)
    with joblib.parallel_backend("dask"):
        parallel = clone(search).set_params(n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    # The workers that ran a task fetched the source once and kept it.
    shared = _shipped_in_loop(client, task)
    assert isinstance(shared, SharedSource)
    assert any(client.run(_kept, shared.token).values())


def test_a_dask_grid_shares_the_frozen_prefix_on_disk(client, fitted_source, tmp_path):
    X, y = _data(shift=0.3)
    search = GridSearchCV(
        TransferClassifier(source=fitted_source, freeze_depth=1, max_epochs=2,
                           random_state=0, cache_frozen=str(tmp_path)),
        {"lr": [1e-3, 3e-3, 1e-2]}, cv=2, refit=False,
    )  # fmt: skip
    with joblib.parallel_backend("dask"):
        parallel = clone(search).set_params(n_jobs=-1).fit(X, y)
    serial = clone(search).set_params(estimator__cache_frozen="auto").fit(X, y)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    # One file per fold's training rows, whichever worker computed it.
    assert len(list(tmp_path.glob("sktransfer-prefix-*.npy"))) == 2
